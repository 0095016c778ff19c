//! The adapters of the OAuth 2.0 server: persistence over Diesel (SQLite and
//! PostgreSQL) and the system ports (clock, randomness, password hashing).

pub mod db;
pub mod http;
pub mod jose;
pub mod system;
