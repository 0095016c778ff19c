//! The binary as an operator meets it: subcommands, their JSON output, exit
//! codes and messages for bad configuration, and a server that keeps its
//! data across restarts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{client_create, command, free_port, serve, serve_with, user_create};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use test_support::{Backend, TestDatabase};

fn run(args: &[&str]) -> Output {
    command().args(args).output().expect("the binary runs")
}

fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    command()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs")
}

/// Runs with `input` on stdin.
fn run_stdin(args: &[&str], input: &str) -> Output {
    let mut child = command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Succeeded, or shows why not.
#[track_caller]
fn ok(output: &Output) -> &Output {
    assert!(output.status.success(), "{}", stderr(output));
    output
}

/// Failed with exit code 1 and a one-line message containing `needle`.
#[track_caller]
fn fails_with(output: &Output, needle: &str) {
    // The first command on a new SQLite file makes the signing keys' key
    // file beside it and says so once (a warning, not part of the error).
    let message: String = stderr(output)
        .lines()
        .filter(|l| !l.contains("WARN app::startup: KEY_ENCRYPTION_KEY is not set"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(message.starts_with("error: "), "{message}");
    assert!(message.contains(needle), "{message}");
    assert!(!message.contains("panicked"), "{message}");
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&ok(output).stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(output)))
}

/// The admin command that creates the user most tests need.
const ALICE: [&str; 6] = user_create("alice", "correct horse");

/// A fresh, empty SQLite database (removed when dropped), and its URL.
fn fresh_database() -> (TestDatabase, String) {
    let database = TestDatabase::empty(Backend::Sqlite);
    let url = database.url().to_owned();
    (database, url)
}

/// A fresh SQLite database with the user of `ALICE` in it, and the binary
/// run on it.
struct AliceDb {
    _database: TestDatabase,
    url: String,
}

impl AliceDb {
    fn new() -> Self {
        let (database, url) = fresh_database();
        ok(&on(&url, &ALICE));
        Self {
            _database: database,
            url,
        }
    }

    /// Runs the binary on this database.
    fn cli(&self, args: &[&str]) -> Output {
        on(&self.url, args)
    }

    /// Creates a client of alice here; its JSON.
    fn client(&self, name: &str, flags: &str) -> Value {
        alices_client(&self.url, name, flags)
    }
}

/// Creates a client of alice on the database at `url`; its JSON.
fn alices_client(url: &str, name: &str, flags: &str) -> Value {
    json_of(&on(url, &client_create("alice", name, flags)))
}

/// Runs the binary on the database at `url` (bcrypt at its cheapest).
fn on(url: &str, args: &[&str]) -> Output {
    run(&[&["--database-url", url, "--bcrypt-cost", "4"][..], args].concat())
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("oauth2.db").display())
}

fn get(port: u16, path: &str) -> (u16, String) {
    request(port, "GET", path, &[], "")
}

/// One HTTP/1.1 request; the status and the body.
fn request(port: u16, method: &str, path: &str, headers: &[&str], body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    write!(stream, "{head}\r\n{body}").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.get(9..12).unwrap().parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

const FORM: &str = "Content-Type: application/x-www-form-urlencoded";

/// A password grant with `client_secret_post`; the status and the body.
fn password_grant(port: u16, client: &Value, secret: &str, password: &str) -> (u16, Value) {
    let body = format!(
        "grant_type=password&username=alice&password={}&scope=profile&client_id={}&client_secret={secret}",
        password.replace(' ', "+"),
        client["client_id"].as_str().unwrap(),
    );
    let (status, body) = request(port, "POST", "/oauth/token", &[FORM], &body);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn api_me(port: u16, access_token: &str) -> u16 {
    let header = format!("Authorization: Bearer {access_token}");
    request(port, "GET", "/api/me", &[&header], "").0
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
    let (_dir, url) = fresh_database();

    let user = json_of(&on(&url, &[&["--json"][..], &ALICE].concat()));
    assert_eq!(user["username"], "alice");

    let client = json_of(&on(
        &url,
        &client_create(
            "alice",
            "Demo",
            "--uri https://demo.example --redirect-uri https://demo.example/cb \
             --grant-type authorization_code --grant-type refresh_token --response-type code \
             --scope profile --auth-method client_secret_basic",
        ),
    ));
    assert!(client["client_id"].as_str().unwrap().len() >= 16);
    assert!(client["client_secret"].as_str().unwrap().len() >= 43);
    assert_eq!(
        client["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );

    let public = json_of(&on(
        &url,
        &client_create(
            "alice",
            "SPA",
            "--redirect-uri https://spa.example/cb --grant-type authorization_code \
             --response-type code --scope profile --auth-method none",
        ),
    ));
    assert!(public["client_secret"].is_null());

    assert!(!on(&url, &ALICE).status.success());
    let bad = on(
        &url,
        &client_create(
            "alice",
            "X",
            "--grant-type implicit --response-type token --redirect-uri javascript:alert(1)",
        ),
    );
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("redirect_uris"));
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
        let (status, body) = get(port, "/readyz");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"database\":\"ok\""), "{body}");
        let created = on(&url, &user_create("keeper", "correct horse"));
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

#[test]
fn the_test_environment_list_names_every_setting() {
    use clap::Args;
    let flags = app::config::Flags::augment_args(clap::Command::new("probe"));
    let mut read: Vec<String> = flags
        .get_arguments()
        .filter_map(clap::Arg::get_env)
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    let mut cleared: Vec<String> = support::SETTINGS_ENV
        .iter()
        .map(|name| (*name).to_owned())
        .collect();
    read.sort();
    cleared.sort();

    assert_eq!(
        cleared, read,
        "SETTINGS_ENV must clear every variable the binary reads"
    );
}

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let file = dir.path().join("oauth2.toml");
    std::fs::write(
        &file,
        format!("database_url = \"{url}\"\nbcrypt_cost = 3\n"),
    )
    .unwrap();
    let config = file.to_str().unwrap();

    let file_only = run(&["--config", config, "migrate"]);
    let env_over_file = run_env(&["--config", config, "migrate"], &[("BCRYPT_COST", "4")]);
    let flag_over_env = run_env(
        &["--config", config, "--bcrypt-cost", "4", "migrate"],
        &[("BCRYPT_COST", "99")],
    );
    let env_file = run_env(&["migrate"], &[("CONFIG", config), ("BCRYPT_COST", "5")]);

    let message = stderr(&file_only);
    assert_eq!(file_only.status.code(), Some(2), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(
        message.contains("BCRYPT_COST must be between 4 and 31 (got 3)"),
        "{message}"
    );
    ok(&env_over_file);
    ok(&flag_over_env);
    ok(&env_file);
    assert!(
        dir.path().join("oauth2.db").exists(),
        "the file's URL is used"
    );
}

#[test]
fn bad_settings_are_one_line_errors_that_name_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "pool_size = 4\nbcrypt_kost = 4\n").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--config", file.to_str().unwrap()],
            "line 2: unknown field `bcrypt_kost`",
        ),
        (
            vec!["--config", "/nonexistent/oauth2.toml"],
            "CONFIG: cannot read",
        ),
        (vec!["--code-ttl", "601"], "CODE_TTL"),
        (vec!["--refresh-grace", "0"], "REFRESH_GRACE"),
        (vec!["--issuer", "ftp://x.example"], "ISSUER"),
        (vec!["--scopes", "a\"b"], "SCOPES"),
        (vec!["--log", "[[["], "LOG"),
        (vec!["--disable-grant", "none,implicit"], "DISABLE_GRANTS"),
    ];

    for (mut args, needle) in cases {
        args.push("migrate");
        let output = run(&args);

        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
        assert_eq!(message.trim().lines().count(), 1, "{args:?}: {message}");
        assert!(message.starts_with("error: "), "{args:?}: {message}");
        assert!(message.contains(needle), "{args:?}: {message}");
    }

    let key = "a-secret-that-is-too-short";
    let short_key = run(&["--session-key", key, "migrate"]);
    let message = stderr(&short_key);
    assert!(
        message.contains("SESSION_KEY must be at least 64 bytes"),
        "{message}"
    );
    assert!(!message.contains(key), "the key is not echoed: {message}");

    let unknown_grant = run(&["--disable-grant", "client_credentials", "migrate"]);
    assert_eq!(unknown_grant.status.code(), Some(2));
    assert!(stderr(&unknown_grant).contains("--disable-grant"));
}

#[test]
fn an_https_issuer_without_a_session_key_refuses_to_start() {
    let (_db, url) = fresh_database();
    let bind = format!("127.0.0.1:{}", free_port());

    let refused = run(&[
        "--database-url",
        &url,
        "--bind",
        &bind,
        "--issuer",
        "https://auth.example.com",
        "serve",
    ]);

    fails_with(&refused, "SESSION_KEY");
    assert!(stderr(&refused).contains("ISSUER"));
}

#[test]
fn a_tls_postgres_url_names_the_pg_tls_feature() {
    let output = run(&[
        "--database-url",
        "postgres://postgres@127.0.0.1/x?sslmode=require",
        "migrate",
    ]);

    if cfg!(feature = "pg-tls") {
        return; // a TLS build goes on to connect
    }
    fails_with(&output, "pg-tls");
}

#[test]
fn migrate_runs_migrations_only_and_serve_can_be_told_not_to() {
    let (_db, url) = fresh_database();
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");

    let refused = run(&[
        "--database-url",
        &url,
        "--bind",
        &bind,
        "--migrate-on-start",
        "false",
        "serve",
    ]);
    fails_with(&refused, "oauth2-server migrate");

    let first = ok(&run(&["--database-url", &url, "--json", "migrate"])).clone();
    let second = ok(&run(&["--database-url", &url, "migrate"])).clone();
    let applied = json_of(&first)["applied"].as_array().unwrap().len();
    assert!(applied >= 1, "serve did not migrate: {}", stdout(&first));
    assert!(
        stdout(&second).contains("up to date"),
        "{}",
        stdout(&second)
    );

    let (_server, _) = serve_with(&url, port, &["--migrate-on-start", "false"]);
    assert_eq!(get(port, "/readyz").0, 200);
}

#[test]
fn json_logs_are_one_object_per_line() {
    let (_db, url) = fresh_database();
    let port = free_port();

    let (_server, listening) = serve_with(&url, port, &["--log-format", "json"]);

    let line: Value = serde_json::from_str(&listening).unwrap();
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["port"], port);
}

#[test]
fn disabled_grants_leave_the_metadata_and_cannot_be_registered() {
    let (_db, url) = fresh_database();
    let port = free_port();
    let off = ["--disable-grant", "implicit", "--disable-grant", "password"];
    let mut args = vec!["--database-url", url.as_str(), "--bcrypt-cost", "4"];
    args.extend_from_slice(&off);
    let (_server, _) = serve_with(&url, port, &off);

    let (status, body) = get(port, "/.well-known/oauth-authorization-server");
    let metadata: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        metadata["grant_types_supported"],
        serde_json::json!(["authorization_code", "client_credentials", "refresh_token"])
    );
    assert_eq!(
        metadata["response_types_supported"],
        serde_json::json!(["code"])
    );

    let mut user = args.clone();
    user.extend_from_slice(&user_create("alice", "correct horse"));
    ok(&run(&user));
    let mut client = args.clone();
    client.extend_from_slice(&client_create(
        "alice",
        "P",
        "--grant-type password --scope profile",
    ));
    let refused = run(&client);
    fails_with(&refused, "grant_types");
}

/// The admin CLI over users: create, list, set-password, delete.
#[test]
fn user_commands() {
    let (_dir, url) = fresh_database();
    let cli = |args: &[&str]| on(&url, args);

    let created = cli(&ALICE);
    let piped = run_stdin(
        &[
            &["--database-url", url.as_str(), "--bcrypt-cost", "4"][..],
            &["user", "create", "--username", "bob", "--password-stdin"],
        ]
        .concat(),
        "battery staple\n",
    );
    let text_list = cli(&["user", "list"]);
    let json_list = cli(&["user", "list", "--json"]);

    assert!(stdout(ok(&created)).starts_with("created user alice ("));
    ok(&piped);
    let text = stdout(ok(&text_list));
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.lines().next().unwrap().starts_with("alice\t"),
        "{text}"
    );
    let users = json_of(&json_list);
    assert_eq!(users.as_array().unwrap().len(), 2);
    assert_eq!(users[1]["username"], "bob");
    assert!(users[0]["id"].as_str().unwrap().len() >= 32);

    ok(&cli(&[
        "user",
        "set-password",
        "--username",
        "alice",
        "--password",
        "a new password",
    ]));
    fails_with(
        &cli(&[
            "user",
            "set-password",
            "--username",
            "alice",
            "--password",
            "short",
        ]),
        "password",
    );
    fails_with(
        &cli(&[
            "user",
            "set-password",
            "--username",
            "nobody",
            "--password",
            "long enough",
        ]),
        "no user named nobody",
    );
    fails_with(&cli(&user_create("alice", "correct horse")), "taken");
    let missing_password = cli(&["user", "create", "--username", "carol"]);
    assert!(!missing_password.status.success());

    let deleted = cli(&["--json", "user", "delete", "--username", "bob"]);
    assert_eq!(json_of(&deleted)["deleted"], true);
    fails_with(
        &cli(&["user", "delete", "--username", "bob"]),
        "no user named bob",
    );
    let left = json_of(&cli(&["user", "list", "--json"]));
    assert_eq!(left.as_array().unwrap().len(), 1);
}

/// Issue 13.1: `user create --email --name --email-verified`, `user
/// set-email [--verified]` (a changed address is unverified unless told),
/// `user set-name`; `user show` and `user list` print the claims; a taken
/// (in any case) or invalid address is a one-line error and a failure exit.
#[test]
fn user_claims_commands() {
    let db = AliceDb::new();
    let set_email = |user: &str, email: &str, more: &[&str]| {
        let mut args = vec!["user", "set-email", "--username", user, "--email", email];
        args.extend(more);
        db.cli(&args)
    };
    let created = db.cli(&[
        "--json",
        "user",
        "create",
        "--username",
        "bob",
        "--password",
        "battery staple",
        "--email",
        "Bob@Example.com",
        "--name",
        "Bob Smith",
        "--email-verified",
    ]);
    let bob = json_of(&created);
    assert_eq!(bob["email"], "Bob@Example.com");
    assert_eq!(bob["email_verified"], true);
    assert_eq!(bob["name"], "Bob Smith");
    let alice = json_of(&db.cli(&["user", "show", "--username", "alice", "--json"]));
    assert_eq!(alice["email"], Value::Null);
    assert_eq!(alice["email_verified"], false);
    let text = stdout(ok(&db.cli(&["user", "show", "--username", "bob"])));
    assert!(
        text.trim_end()
            .ends_with("\tBob@Example.com\tverified\tBob Smith"),
        "{text}"
    );

    let taken = [
        "user",
        "create",
        "--username",
        "carol",
        "--password",
        "violet staple",
        "--email",
        "bob@EXAMPLE.COM",
    ];
    fails_with(&db.cli(&taken), "e-mail address is another user's");
    fails_with(
        &set_email("alice", "BOB@example.com", &[]),
        "e-mail address is another user's",
    );
    fails_with(
        &set_email("alice", "not-an-address", &[]),
        "email must be an e-mail address",
    );
    fails_with(
        &db.cli(&[
            "user",
            "set-name",
            "--username",
            "alice",
            "--name",
            "Eve\u{202E}",
        ]),
        "name must not contain control",
    );
    fails_with(
        &db.cli(&["user", "set-name", "--username", "nobody", "--name", "N"]),
        "no user named nobody",
    );

    let changed = json_of(&set_email("bob", "bob@other.example", &["--json"]));
    assert_eq!(changed["email"], "bob@other.example");
    assert_eq!(changed["email_verified"], false);
    let verified = json_of(&set_email(
        "alice",
        "alice@example.com",
        &["--json", "--verified"],
    ));
    assert_eq!(verified["email_verified"], true);
    let named = json_of(&db.cli(&[
        "--json",
        "user",
        "set-name",
        "--username",
        "alice",
        "--name",
        "Alice Liddell",
    ]));
    assert_eq!(named["name"], "Alice Liddell");
    let users = json_of(&db.cli(&["user", "list", "--json"]));
    assert_eq!(users[0]["email"], "alice@example.com");
    assert_eq!(users[0]["name"], "Alice Liddell");
    assert_eq!(users[1]["email"], "bob@other.example");
    let list = stdout(ok(&db.cli(&["user", "list"])));
    assert!(
        list.lines()
            .next()
            .unwrap()
            .ends_with("\talice@example.com\tverified\tAlice Liddell"),
        "{list}"
    );
}

/// `updated_at` (the OpenID Connect claim, Core 1.0 §5.1) is the creation
/// time until a change: `user set-name` moves it, `created_at` stays.
#[test]
fn user_set_name_moves_updated_at() {
    let db = AliceDb::new();
    let before = json_of(&db.cli(&["user", "show", "--username", "alice", "--json"]));
    assert_eq!(before["updated_at"], before["created_at"]);
    // The claim counts seconds.
    std::thread::sleep(std::time::Duration::from_millis(1100));

    let after = json_of(&db.cli(&[
        "--json",
        "user",
        "set-name",
        "--username",
        "alice",
        "--name",
        "Alice Liddell",
    ]));

    assert_eq!(after["created_at"], before["created_at"]);
    assert!(
        after["updated_at"].as_i64().unwrap() > before["updated_at"].as_i64().unwrap(),
        "{before} → {after}"
    );
}

/// The `sub` is the user id (OpenID Connect Core 1.0 §2: never reassigned):
/// a user created under the name of a deleted one gets a new id.
#[test]
fn a_recreated_user_name_gets_a_new_id() {
    let db = AliceDb::new();
    let first = json_of(&db.cli(&["user", "show", "--username", "alice", "--json"]));
    ok(&db.cli(&["user", "delete", "--username", "alice"]));
    let again = json_of(&db.cli(&[
        "--json",
        "user",
        "create",
        "--username",
        "alice",
        "--password",
        "a fresh password",
    ]));
    assert_eq!(again["username"], "alice");
    assert_ne!(again["id"], first["id"]);
}

/// The admin CLI over clients: create, list, show, rotate-secret, delete.
#[test]
fn client_commands() {
    let db = AliceDb::new();
    ok(&db.cli(&user_create("bob", "correct horse")));
    let create = |owner: &str, name: &str, method: &str| {
        let mut args = client_create(
            owner,
            name,
            "--grant-type client_credentials --scope profile",
        );
        args.extend(["--auth-method", method]);
        json_of(&db.cli(&args))
    };
    let confidential = create("alice", "Backend", "client_secret_basic");
    let public = json_of(&db.cli(&client_create(
        "bob",
        "Public",
        "--grant-type authorization_code --response-type code \
         --redirect-uri https://spa.example/cb --scope profile --auth-method none",
    )));
    let id = confidential["client_id"].as_str().unwrap();
    let public_id = public["client_id"].as_str().unwrap();

    let all = json_of(&db.cli(&["client", "list", "--json"]));
    let of_bob = json_of(&db.cli(&["client", "list", "--owner", "bob", "--json"]));
    let text = stdout(ok(&db.cli(&["client", "list"])));
    let shown = json_of(&db.cli(&["client", "show", id, "--json"]));
    let shown_text = stdout(ok(&db.cli(&["client", "show", id])));

    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(of_bob.as_array().unwrap().len(), 1);
    assert_eq!(of_bob[0]["client_id"], public_id);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.contains(&format!("{id}\tBackend\talice\tclient_credentials")),
        "{text}"
    );
    assert_eq!(shown["client_name"], "Backend");
    assert_eq!(shown["owner"], "alice");
    assert!(shown.get("client_secret").is_none(), "{shown}");
    assert!(
        shown_text.contains("client_name     Backend"),
        "{shown_text}"
    );
    fails_with(
        &db.cli(&["client", "list", "--owner", "nobody"]),
        "no user named nobody",
    );
    fails_with(
        &db.cli(&["client", "show", "no-such-client"]),
        "no client with id no-such-client",
    );

    let rotated = json_of(&db.cli(&["client", "rotate-secret", id, "--json"]));
    let rotated_text = stdout(ok(&db.cli(&["client", "rotate-secret", id])));
    let secret = rotated["client_secret"].as_str().unwrap();
    assert!(secret.len() >= 43);
    assert_ne!(secret, confidential["client_secret"].as_str().unwrap());
    assert!(
        rotated_text.lines().nth(1).unwrap().len() >= 43,
        "{rotated_text}"
    );
    fails_with(&db.cli(&["client", "rotate-secret", public_id]), "public");
    fails_with(
        &db.cli(&["client", "rotate-secret", "nope"]),
        "no client with id nope",
    );

    let deleted = stdout(ok(&db.cli(&["client", "delete", id])));
    assert!(
        deleted.starts_with(&format!("deleted client {id}")),
        "{deleted}"
    );
    fails_with(&db.cli(&["client", "delete", id]), "no client with id");
    fails_with(&db.cli(&["client", "show", id]), "no client with id");
}

/// `set-password`, `rotate-secret` and `token revoke` as a running server
/// sees them.
#[test]
fn admin_commands_take_effect_on_a_running_server() {
    let db = AliceDb::new();
    let client = db.client(
        "App",
        "--grant-type password --grant-type refresh_token \
         --scope profile --auth-method client_secret_post",
    );
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    let id = client["client_id"].as_str().unwrap();
    let port = free_port();
    let (_server, _) = serve_with(&db.url, port, &["--bcrypt-cost", "4"]);

    ok(&db.cli(&[
        "user",
        "set-password",
        "--username",
        "alice",
        "--password",
        "new password",
    ]));
    let (old, _) = password_grant(port, &client, &secret, "correct horse");
    let (new, tokens) = password_grant(port, &client, &secret, "new password");
    assert_eq!((old, new), (400, 200));
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(api_me(port, &access), 200);

    let by_user = json_of(&db.cli(&["token", "revoke", "--user", "alice", "--json"]));
    assert_eq!(by_user["revoked"], 2, "{by_user}");
    assert_eq!(api_me(port, &access), 401);

    let (_, tokens) = password_grant(port, &client, &secret, "new password");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let by_client = stdout(ok(&db.cli(&["token", "revoke", "--client", id])));
    assert!(
        by_client.starts_with("revoked 2 tokens of client"),
        "{by_client}"
    );
    assert_eq!(api_me(port, &access), 401);

    let rotated = json_of(&db.cli(&["client", "rotate-secret", id, "--json"]));
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_eq!(
        password_grant(port, &client, &secret, "new password").0,
        401
    );
    assert_eq!(
        password_grant(port, &client, new_secret, "new password").0,
        200
    );

    fails_with(
        &db.cli(&["token", "revoke", "--user", "nobody"]),
        "no user named nobody",
    );
    fails_with(
        &db.cli(&["token", "revoke", "--client", "nope"]),
        "no client with id nope",
    );
    let neither = db.cli(&["token", "revoke"]);
    assert_eq!(neither.status.code(), Some(2), "{}", stderr(&neither));
}

/// SIGTERM: the server stops accepting connections, answers the request in
/// flight, and exits 0.
#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_zero() {
    let (_db, url) = fresh_database();
    // A costly hash makes the password grant take about a second.
    ok(&run(&[
        "--database-url",
        &url,
        "--bcrypt-cost",
        "14",
        "user",
        "create",
        "--username",
        "alice",
        "--password",
        "correct horse",
    ]));
    let client = alices_client(
        &url,
        "App",
        "--grant-type password --scope profile --auth-method client_secret_post",
    );
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    let port = free_port();
    let (mut server, _) = serve_with(&url, port, &["--bcrypt-cost", "4"]);

    let started = Instant::now();
    let in_flight = std::thread::spawn(move || {
        let answer = password_grant(port, &client, &secret, "correct horse");
        (answer, Instant::now())
    });
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.0.id().to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let signalled = Instant::now();
    assert!(kill.success());

    let mut refused = false;
    while started.elapsed() < Duration::from_secs(10) {
        if TcpStream::connect(("127.0.0.1", port)).is_err() {
            refused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let ((status, body), answered) = in_flight.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = server.0.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };

    assert!(refused, "new connections are refused after SIGTERM");
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string(), "{body}");
    assert!(
        answered > signalled,
        "the request was still running when the signal came"
    );
    assert_eq!(exit.code(), Some(0), "{exit:?}");
}

/// Issue 11.5: the operator's `client create` is not bound by the
/// per-owner client quota (the operator decides), but every metadata size
/// limit and the redirect-URI limit apply to it as to the pages.
#[test]
fn client_create_ignores_the_owner_quota_but_not_the_size_limits() {
    let (_dir, url) = fresh_database();
    let cli = |extra: &[&str]| {
        on(
            &url,
            &[
                &[
                    "--max-clients-per-owner",
                    "1",
                    "--max-redirect-uris-per-client",
                    "1",
                ][..],
                extra,
            ]
            .concat(),
        )
    };
    ok(&cli(&ALICE));
    let create = |name: &str, more: &[&str]| {
        let mut args = client_create(
            "alice",
            name,
            "--grant-type client_credentials --scope profile",
        );
        args.extend_from_slice(more);
        cli(&args)
    };

    json_of(&create("First", &[]));
    json_of(&create("Second, past the quota of 1", &[]));
    let long_name = "n".repeat(101);
    fails_with(
        &create(&long_name, &[]),
        "client_name: must be at most 100 characters",
    );
    fails_with(
        &create(
            "Two URIs",
            &[
                "--redirect-uri",
                "https://a.example/cb",
                "--redirect-uri",
                "https://a.example/cb2",
            ],
        ),
        "redirect_uris: at most 1 redirect URIs per client",
    );
}

/// Issue 11.7: `user create` and `set-password` refuse the passwords sign-up
/// refuses, saying why.
#[test]
fn user_create_and_set_password_refuse_weak_passwords() {
    let (_dir, url) = fresh_database();
    let cli = |args: &[&str]| on(&url, args);
    let create = |password: &str| cli(&user_create("carol", password));

    fails_with(&create("password"), "one of the most common passwords");
    fails_with(&create("qwertyuiop"), "one of the most common passwords");
    fails_with(&create("carol1234"), "must not contain the user name");
    fails_with(&create("        "), "at least 4 different characters");
    ok(&create("violet staple lantern"));
    let set = |password: &str| {
        cli(&[
            "user",
            "set-password",
            "--username",
            "carol",
            "--password",
            password,
        ])
    };
    fails_with(&set("12345678"), "one of the most common passwords");
    fails_with(&set("LORAC-and-more"), "must not contain the user name");
    ok(&set("another violet staple"));
}

/// Issue 11.10: `client create` registers trusted clients; `client
/// set-trusted CLIENT_ID [--no]` changes it; `client show` prints it.
#[test]
fn client_set_trusted_round_trip() {
    let db = AliceDb::new();
    let created = db.client(
        "Operator app",
        "--grant-type client_credentials --scope profile",
    );
    let id = created["client_id"].as_str().unwrap();
    assert_eq!(created["trusted"], true, "{created}");

    let off = json_of(&db.cli(&["client", "set-trusted", id, "--no", "--json"]));
    assert_eq!(off["trusted"], false, "{off}");
    // `client show` says it in its JSON and in its table.
    let shown_trusted = |trusted: bool, word: &str| {
        let json = json_of(&db.cli(&["client", "show", id, "--json"]));
        assert_eq!(json["trusted"], trusted, "{json}");
        let table = stdout(ok(&db.cli(&["client", "show", id])));
        let row = ["trusted", word];
        assert!(
            table
                .lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == row),
            "{table}"
        );
    };
    shown_trusted(false, "no");

    ok(&db.cli(&["client", "set-trusted", id]));
    shown_trusted(true, "yes");
    fails_with(
        &db.cli(&["client", "set-trusted", "no-such-client"]),
        "no-such-client",
    );
}

/// Issue 11.13: the CLI refuses spoofing client names and userinfo URIs.
#[test]
fn client_create_refuses_bidi_names_and_userinfo_uris() {
    let db = AliceDb::new();
    let create = |name: &str, uri: &str| {
        let mut args = client_create("alice", name, "--grant-type client_credentials");
        args.extend(["--uri", uri]);
        db.cli(&args)
    };
    fails_with(&create("Bank\u{202E}tnuocca", ""), "client_name");
    fails_with(&create("Pay\u{200B}Pal", ""), "client_name");
    fails_with(
        &create("Fine", "https://bank.example@evil.example/"),
        "client_uri",
    );
    ok(&create("Fine", "https://app.example/"));
}

#[test]
fn client_create_registers_the_openid_implicit_response_types() {
    let db = AliceDb::new();
    let mut args = client_create(
        "alice",
        "SPA",
        "--redirect-uri https://spa.example/cb --grant-type implicit \
         --scope openid --auth-method none --response-type id_token",
    );
    args.extend(["--response-type", "id_token token"]);

    let client = json_of(&db.cli(&args));

    assert_eq!(
        client["response_types"],
        serde_json::json!(["id_token", "id_token token"])
    );
    let mut without_implicit = client_create(
        "alice",
        "Web",
        "--redirect-uri https://web.example/cb --grant-type authorization_code \
         --response-type code --scope openid",
    );
    without_implicit.extend(["--response-type", "id_token"]);
    fails_with(&db.cli(&without_implicit), "response_types");
}

/// `client create` takes the OpenID metadata (issue 13.9); `client show`
/// and `client list` print it; bad values are one-line errors naming the
/// field.
#[test]
fn client_create_takes_the_openid_metadata() {
    let db = AliceDb::new();
    let flags = "--grant-type authorization_code --response-type code \
                 --redirect-uri https://rp.example/cb --scope profile \
                 --post-logout-redirect-uri https://rp.example/bye \
                 --post-logout-redirect-uri https://rp.example/bye2 \
                 --id-token-alg EdDSA --default-max-age 900 --require-auth-time";
    let created = json_of(&db.cli(&client_create("alice", "RP", flags)));
    let id = created["client_id"].as_str().unwrap();
    let shown = json_of(&db.cli(&["client", "show", id, "--json"]));
    let text = stdout(ok(&db.cli(&["client", "show", id])));
    let listed = stdout(ok(&db.cli(&["client", "list"])));
    let plain = json_of(&db.cli(&client_create(
        "alice",
        "Plain",
        "--grant-type client_credentials",
    )));

    assert_eq!(
        shown["post_logout_redirect_uris"],
        serde_json::json!(["https://rp.example/bye", "https://rp.example/bye2"])
    );
    assert_eq!(shown["id_token_signed_response_alg"], "EdDSA");
    assert_eq!(shown["default_max_age"], 900);
    assert_eq!(shown["require_auth_time"], true);
    assert_eq!(created["id_token_signed_response_alg"], "EdDSA");
    assert!(text.contains("id_token_alg    EdDSA"), "{text}");
    assert!(text.contains("default_max_age 900"), "{text}");
    assert!(text.contains("https://rp.example/bye2"), "{text}");
    assert!(
        listed.contains(&format!("{id}\tRP\talice\tauthorization_code\tEdDSA")),
        "{listed}"
    );
    assert_eq!(plain["id_token_signed_response_alg"], "RS256");
    assert_eq!(plain["default_max_age"], serde_json::Value::Null);
    assert_eq!(plain["require_auth_time"], false);

    let bad = |extra: &str| {
        db.cli(&client_create(
            "alice",
            "Bad",
            &format!("--grant-type client_credentials {extra}"),
        ))
    };
    fails_with(&bad("--id-token-alg HS256"), "id_token_signed_response_alg");
    fails_with(&bad("--id-token-alg none"), "id_token_signed_response_alg");
    fails_with(&bad("--default-max-age 0"), "default_max_age");
    fails_with(&bad("--default-max-age soon"), "default_max_age");
    fails_with(
        &bad("--post-logout-redirect-uri http://evil.example/bye"),
        "post_logout_redirect_uris",
    );
}

#[test]
fn keys_rotate_publishes_a_next_key_per_algorithm_and_keys_list_shows_the_states() {
    let (_database, url) = fresh_database();
    let added = json_of(&on(&url, &["keys", "rotate", "--json"]));
    assert_eq!(added["added"].as_array().unwrap().len(), 3, "{added}");
    let added = json_of(&on(&url, &["keys", "rotate", "--json"]));
    assert_eq!(added["added"].as_array().unwrap().len(), 3, "{added}");
    // A next key is already waiting for each algorithm: nothing more.
    let again = json_of(&on(&url, &["keys", "rotate", "--json"]));
    assert_eq!(again["added"].as_array().unwrap().len(), 0, "{again}");

    let listed = json_of(&on(&url, &["keys", "list", "--json"]));
    let keys = listed["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 6);
    for alg in ["RS256", "ES256", "EdDSA"] {
        let mut states: Vec<&str> = keys
            .iter()
            .filter(|k| k["alg"] == alg)
            .map(|k| k["state"].as_str().unwrap())
            .collect();
        states.sort_unstable();
        assert_eq!(states, ["current", "next"], "{alg}");
    }
    let current = keys.iter().find(|k| k["state"] == "current").unwrap();
    assert!(
        current["retired"].is_string(),
        "the current key's retirement is known"
    );
    assert!(current["published_until"].is_string());
    assert!(!stdout(ok(&on(&url, &["keys", "list"]))).contains("sealed"));
}
