//! Rebuilds when the embedded migrations change, and turns on the PostgreSQL
//! contract tests (`cfg(pg_tests)`) when `TEST_DATABASE_URL` is set.

include!("../test-support/pg_tests_cfg.rs");

fn main() {
    pg_tests_cfg();
}
