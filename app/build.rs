//! Turns on the PostgreSQL tests (`cfg(pg_tests)`) when `TEST_DATABASE_URL`
//! is set at build time; without it they are reported as ignored.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    if std::env::var_os("TEST_DATABASE_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo:rustc-cfg=pg_tests");
    }
}
