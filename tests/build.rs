//! Rebuilds when the embedded migrations change, and turns on the PostgreSQL
//! HTTP tests (`cfg(pg_tests)`) when `TEST_DATABASE_URL` is set.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    if std::env::var_os("TEST_DATABASE_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo:rustc-cfg=pg_tests");
    }
}
