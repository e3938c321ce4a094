//! Small file and randomness helpers that several stages share: bounded reads of user inputs,
//! private (0600, atomic) writes, replacing a file keeping its mode and owner, a user's command
//! run bounded in time, random bytes.

pub mod aws_files;
pub mod bounded_command;
pub mod input_file;
pub mod private_file;
pub mod random;
pub mod redact;
pub mod replace_file;
pub mod timestamp;
