// Shared by the build scripts of `adapters` and `server-tests` (through
// `include!`): rebuild when the embedded migrations change, and turn on the
// PostgreSQL test cases (`cfg(pg_tests)`) when `TEST_DATABASE_URL` is set.

/// Prints the cargo directives for the migrations and `cfg(pg_tests)`.
fn pg_tests_cfg() {
    println!("cargo:rerun-if-changed=../migrations");
    println!("cargo:rerun-if-changed=../test-support/pg_tests_cfg.rs");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    if std::env::var_os("TEST_DATABASE_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo:rustc-cfg=pg_tests");
    }
}
