//! Repository contract tests: each test is written once over the ports and
//! runs on SQLite (a fresh file per test), on PostgreSQL (a fresh database
//! per test; ignored unless `TEST_DATABASE_URL` is set when building) and,
//! for the port contracts, on `domain::testing::InMemoryStore`, so that the
//! fake and the real stores are held to the same rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod attempts;
mod clients;
mod codes;
mod consents;
mod database;
mod hardening_accounts;
mod hardening_protocol;
mod housekeeping;
mod quotas;
mod signing_keys;
mod tokens;
mod users;
