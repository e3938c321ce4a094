//! Validated, typed settings, built once from the command line (and a profile of
//! `~/.aws/config`): what every stage after it reads instead of clap's structs.

pub mod endpoint;
pub mod profile;
pub mod session;
