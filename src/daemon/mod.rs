//! The long-running commands: `serve` and `update`, around one background refresher.

pub mod refresher;
pub mod sd_notify;
pub mod serve;
pub mod update;
