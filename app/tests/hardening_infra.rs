//! Issue 11, infrastructure hardening, as an operator meets it: a fresh
//! SQLite database is private (11.16), the text log written to a file has
//! no colour codes and a request cannot forge log lines (11.15), and the
//! metrics listener is a setting of `serve` (11.17).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::{free_port, serve_args, Server, BIN, SETTINGS_ENV};

/// `serve` under `umask 022` (the usual default, which would make new files
/// 0644), with stderr written to `log` (a file, not a terminal); returns
/// once it listens.
fn serve_logging_to(
    database_url: &str,
    port: u16,
    log: &std::path::Path,
    extra: &[&str],
) -> Server {
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(serve_args(database_url, port, extra))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    for name in SETTINGS_ENV {
        command.env_remove(name);
    }
    let child: Child = command.spawn().unwrap();
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(log).unwrap().contains("listening") {
        assert!(
            Instant::now() < deadline,
            "the server did not start: {}",
            std::fs::read_to_string(log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// One HTTP/1.1 request on a fresh connection: the status line.
fn status_line(port: u16, request_line: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{request_line}\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut first = String::new();
    BufReader::new(&mut stream).read_line(&mut first).unwrap();
    first
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_fresh_sqlite_database_and_its_wal_and_shm_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("oauth2.db");
    let log = dir.path().join("server.log");
    let port = free_port();
    let _server = serve_logging_to(&format!("sqlite://{}", db.display()), port, &log, &[]);
    // A request that writes makes sure the WAL exists.
    assert!(status_line(port, "GET /readyz HTTP/1.1").contains("200"));

    for file in ["oauth2.db", "oauth2.db-wal", "oauth2.db-shm"] {
        assert_eq!(mode(&dir.path().join(file)), 0o600, "{file}");
    }
}

#[test]
fn an_existing_database_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("oauth2.db");
    std::fs::File::create(&db).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
    let log = dir.path().join("server.log");
    let port = free_port();
    let _server = serve_logging_to(&format!("sqlite://{}", db.display()), port, &log, &[]);

    assert_eq!(mode(&db), 0o640);
}

#[test]
fn the_text_log_in_a_file_has_no_colours_and_no_forged_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let port = free_port();
    let metrics_port = free_port();
    let server = serve_logging_to(
        &format!("sqlite://{}", dir.path().join("oauth2.db").display()),
        port,
        &log,
        &["--metrics-bind", &format!("127.0.0.1:{metrics_port}")],
    );
    status_line(
        port,
        "POST /account/apps/x%0A2026-12-01T00:00:00Z%20%20INFO%20forged%1B%5B2J/revoke HTTP/1.1",
    );
    status_line(port, "GET /clients/%0Aforged%1B[31m HTTP/1.1");
    assert!(status_line(metrics_port, "GET /metrics HTTP/1.1").contains("200"));
    assert!(status_line(port, "GET /metrics HTTP/1.1").contains("404"));
    // The log is written by a background thread: wait for the last access
    // line before killing the server (a kill loses what is still queued).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("path=/metrics")
    {
        assert!(Instant::now() < deadline, "the requests were not logged");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);

    let mut text = String::new();
    std::fs::File::open(&log)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "ANSI escapes in the log file:\n{text:?}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.contains("forged") && !l.contains("request")),
        "a forged line:\n{text}"
    );
    assert!(text.contains("/clients/%0Aforged"), "{text}");
}
