//! Small file and randomness helpers that several stages share: bounded reads of user inputs,
//! private (0600, atomic) writes, random bytes.

pub mod aws_files;
pub mod input_file;
pub mod private_file;
pub mod random;
pub mod redact;
pub mod timestamp;
