//! The composition root of the authorization server: configuration, wiring,
//! the HTTP server and the admin commands.

pub mod cli;
pub mod config;
pub mod housekeeping;
pub mod startup;
pub mod telemetry;
