//! The credentials a session yields, and what is done with them before any output: the
//! cross-process cache and the one-shot fetch.

pub mod cache;
pub mod one_shot;

pub use crate::session::answer::{
    Credentials, SecretBytes, SessionInfo, parse_create_session, parse_timestamp,
};
