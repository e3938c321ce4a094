//! Validated, typed settings, built once from the command line (and a profile of
//! `~/.aws/config`) in `commands`: what every later stage reads instead of clap's structs.

pub mod client;
pub mod credentials;
pub mod daemon;
pub mod endpoint;
pub mod identity;
pub mod profile;
pub mod session;
