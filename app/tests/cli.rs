//! The binary as an operator meets it: subcommands, their JSON output, exit
//! codes and messages for bad configuration, and a server that keeps its
//! data across restarts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_oauth2-server");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("the binary runs")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(database_url: &str, port: u16) -> Server {
    let mut child = Command::new(BIN)
        .args([
            "--database-url",
            database_url,
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(line)) if line.contains("listening") => break,
            Some(Ok(_)) => {}
            _ => panic!("the server exited before listening"),
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Server(child)
}

fn get(port: u16, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.get(9..12).unwrap().parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

#[test]
fn unknown_url_scheme_is_a_one_line_error_and_a_failure_exit() {
    let output = run(&["--database-url", "mysql://localhost/db", "migrate"]);

    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("postgres://"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn unreachable_database_is_a_one_line_error_and_a_failure_exit() {
    let port = free_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/none?connect_timeout=2");

    let output = run(&["--database-url", &url, "migrate"]);

    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("error: cannot open the database"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn user_and_client_creation_print_json() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());

    let user = run(&[
        "--database-url",
        &url,
        "--bcrypt-cost",
        "4",
        "user",
        "create",
        "--username",
        "alice",
        "--password",
        "correct horse",
    ]);
    assert!(
        user.status.success(),
        "{}",
        String::from_utf8_lossy(&user.stderr)
    );
    let user: serde_json::Value = serde_json::from_slice(&user.stdout).unwrap();
    assert_eq!(user["username"], "alice");

    let client = run(&[
        "--database-url",
        &url,
        "client",
        "create",
        "--owner",
        "alice",
        "--name",
        "Demo",
        "--uri",
        "https://demo.example",
        "--redirect-uri",
        "https://demo.example/cb",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--response-type",
        "code",
        "--scope",
        "profile",
        "--auth-method",
        "client_secret_basic",
    ]);
    assert!(
        client.status.success(),
        "{}",
        String::from_utf8_lossy(&client.stderr)
    );
    let client: serde_json::Value = serde_json::from_slice(&client.stdout).unwrap();
    assert!(client["client_id"].as_str().unwrap().len() >= 16);
    assert!(client["client_secret"].as_str().unwrap().len() >= 43);
    assert_eq!(
        client["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );

    let public = run(&[
        "--database-url",
        &url,
        "client",
        "create",
        "--owner",
        "alice",
        "--name",
        "SPA",
        "--redirect-uri",
        "https://spa.example/cb",
        "--grant-type",
        "authorization_code",
        "--response-type",
        "code",
        "--scope",
        "profile",
        "--auth-method",
        "none",
    ]);
    let public: serde_json::Value = serde_json::from_slice(&public.stdout).unwrap();
    assert!(public["client_secret"].is_null());

    let duplicate = run(&[
        "--database-url",
        &url,
        "user",
        "create",
        "--username",
        "alice",
        "--password",
        "correct horse",
    ]);
    assert!(!duplicate.status.success());
    let bad = run(&[
        "--database-url",
        &url,
        "client",
        "create",
        "--owner",
        "alice",
        "--name",
        "X",
        "--grant-type",
        "implicit",
        "--response-type",
        "token",
        "--redirect-uri",
        "javascript:alert(1)",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("redirect_uris"));
}

#[test]
fn the_server_answers_healthz_and_keeps_its_data_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("oauth2.db");
    let url = format!("sqlite://{}", db.display());
    let port = free_port();

    {
        let _server = serve(&url, port);
        assert_eq!(get(port, "/healthz").0, 200);
        let created = run(&[
            "--database-url",
            &url,
            "--bcrypt-cost",
            "4",
            "user",
            "create",
            "--username",
            "keeper",
            "--password",
            "correct horse",
        ]);
        assert!(created.status.success());
    }
    assert!(db.exists());

    let _server = serve(&url, port);
    assert_eq!(get(port, "/healthz").0, 200);
    let again = run(&[
        "--database-url",
        &url,
        "user",
        "create",
        "--username",
        "keeper",
        "--password",
        "correct horse",
    ]);
    assert!(
        !again.status.success(),
        "the user survived the restart, so the name is taken"
    );
}
