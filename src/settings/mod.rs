//! Validated, typed settings, built once from the command line (and a profile of
//! `~/.aws/config`) in `commands`: what every later stage reads instead of clap's structs.

pub mod arn;
pub mod chain;
pub mod client;
pub mod credentials;
pub mod daemon;
pub mod endpoint;
pub mod identity;
pub mod keys;
pub mod profile;
pub mod renewal;
pub mod session;
