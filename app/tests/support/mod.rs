//! What the binary's integration tests share: a clean command line (no
//! setting leaks in from the caller's environment) and a served instance.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_oauth2-server");

/// Every environment variable the binary reads, so that the caller's
/// environment does not leak into a test (`cli.rs` checks the list against
/// the flags).
pub const SETTINGS_ENV: &[&str] = &[
    "CONFIG",
    "DATABASE_URL",
    "DATABASE_POOL_SIZE",
    "BIND",
    "ISSUER",
    "SESSION_KEY",
    "BCRYPT_COST",
    "SCOPES",
    "CODE_TTL",
    "ACCESS_TOKEN_TTL",
    "ID_TOKEN_TTL",
    "REFRESH_TOKEN_TTL",
    "REFRESH_GRACE",
    "DISABLE_GRANTS",
    "MAX_CLIENTS_PER_OWNER",
    "MAX_REDIRECT_URIS_PER_CLIENT",
    "MAX_PENDING_CODES_PER_GRANT",
    "CLEANUP_INTERVAL",
    "SESSION_MAX_AGE",
    "MAX_FAILURES_PER_ACCOUNT",
    "MAX_FAILURES_PER_ADDRESS",
    "FAILURE_WINDOW",
    "TRUSTED_PROXIES",
    "LOG_FORMAT",
    "LOG",
    "MIGRATE_ON_START",
    "METRICS_BIND",
    "BODY_TIMEOUT",
    "KEY_ENCRYPTION_KEY",
    "SIGNING_KEY_ROTATION",
];

pub fn command() -> Command {
    let mut command = Command::new(BIN);
    for name in SETTINGS_ENV {
        command.env_remove(name);
    }
    command
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process, killed when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `client create --owner OWNER --name NAME` and then `flags`, a command
/// line split at spaces (no flag value in these tests has one).
pub fn client_create<'a>(owner: &'a str, name: &'a str, flags: &'a str) -> Vec<&'a str> {
    let mut args = vec!["client", "create", "--owner", owner, "--name", name];
    args.extend(flags.split_whitespace());
    args
}

/// `user create --username USERNAME --password PASSWORD`.
pub const fn user_create<'a>(username: &'a str, password: &'a str) -> [&'a str; 6] {
    [
        "user",
        "create",
        "--username",
        username,
        "--password",
        password,
    ]
}

/// What `serve` takes to use `database_url` and listen on `port` of the
/// loopback, then `extra`.
pub fn serve_args(database_url: &str, port: u16, extra: &[&str]) -> Vec<String> {
    let bind = format!("127.0.0.1:{port}");
    let own = |arg: &str| arg.to_owned();
    let mut args: Vec<String> = ["--database-url", database_url, "--bind", &bind]
        .map(own)
        .into();
    args.extend(extra.iter().copied().map(own));
    args
}

pub fn serve(database_url: &str, port: u16) -> Server {
    serve_with(database_url, port, &[]).0
}

/// Starts `serve` with extra arguments; returns it with its "listening" log
/// line once it listens.
pub fn serve_with(database_url: &str, port: u16, extra: &[&str]) -> (Server, String) {
    let mut child = command()
        .args(serve_args(database_url, port, extra))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut listening = None;
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(line)) if line.contains("listening") => {
                listening = Some(line);
                break;
            }
            Some(Ok(_)) => {}
            _ => panic!("the server exited before listening"),
        }
    }
    let listening = listening.expect("the server listens within a minute");
    std::thread::spawn(move || for _ in lines {});
    (Server(child), listening)
}
