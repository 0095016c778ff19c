//! Rebuilds when the embedded migrations change, turns on the PostgreSQL
//! HTTP tests (`cfg(pg_tests)`) when `TEST_DATABASE_URL` is set, and the
//! browser tests (`cfg(browser_tests)`) when chromedriver and Chromium are
//! installed (`CHROMEDRIVER` / `CHROMIUM`, else `/usr/bin/chromedriver` and
//! `/usr/bin/chromium`). The paths found are handed to the tests as
//! `SERVER_TESTS_CHROMEDRIVER` and `SERVER_TESTS_CHROMIUM`.

use std::path::PathBuf;

include!("../test-support/pg_tests_cfg.rs");

fn main() {
    pg_tests_cfg();

    println!("cargo::rustc-check-cfg=cfg(browser_tests)");
    let chromedriver = tool("CHROMEDRIVER", "/usr/bin/chromedriver");
    let chromium = tool("CHROMIUM", "/usr/bin/chromium");
    println!(
        "cargo:rustc-env=SERVER_TESTS_CHROMEDRIVER={}",
        chromedriver.display()
    );
    println!(
        "cargo:rustc-env=SERVER_TESTS_CHROMIUM={}",
        chromium.display()
    );
    if chromedriver.is_file() && chromium.is_file() {
        println!("cargo:rustc-cfg=browser_tests");
    }
}

/// The path of a browser tool: the environment override, else `default`.
/// Watches the file when it exists, else the folder it would be in (so that
/// installing it rebuilds the tests), but never `/` or a missing folder:
/// cargo scans a watched folder recursively, and a missing path makes this
/// script rerun on every build.
fn tool(var: &str, default: &str) -> PathBuf {
    println!("cargo:rerun-if-env-changed={var}");
    let path = std::env::var_os(var)
        .filter(|value| !value.is_empty())
        .map_or_else(|| PathBuf::from(default), PathBuf::from);
    let watched = if path.exists() {
        Some(path.as_path())
    } else {
        path.parent()
            .filter(|folder| folder.is_dir() && folder.parent().is_some())
    };
    if let Some(watched) = watched {
        println!("cargo:rerun-if-changed={}", watched.display());
    }
    path
}
