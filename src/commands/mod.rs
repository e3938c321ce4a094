//! One thin file per subcommand: each turns its clap arguments into settings once
//! ([`from_cli`]), runs the stages, and returns what to print; `main` maps errors to exit codes.

pub mod completion;
pub mod credential_process;
pub mod csr;
pub mod demo;
pub mod doctor;
pub mod exec;
pub mod export;
pub(crate) mod from_cli;
pub mod generate_key;
pub mod local_endpoint;
pub mod read_certificate_data;
pub mod renew;
pub mod serve;
pub mod sign_string;
pub mod update;
pub mod version;

pub use from_cli::print_secret_warnings;
