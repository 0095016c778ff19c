//! SECURITY.md §12, logging (LG-01, LG-02): every flow runs with logging at
//! its most verbose (`trace` for every crate, as `LOG=trace` would give,
//! written both as text and as JSON lines), and no password, client secret,
//! code, code_verifier, access or refresh token or session cookie value
//! appears in the output.
//!
//! The flows run in a child process (this test binary re-run on one ignored
//! test) so that its global subscriber captures everything the server logs
//! and nothing of the other tests. The child writes the secrets it saw to a
//! file; the parent reads its stderr and stdout and looks for them.

use std::path::Path;

use crate::support::web::{authorize_query, code_client_form, fields, WebUser};
use crate::support::{
    location_params, spawn_app_with, Backend, TestClient, PASSWORD, REDIRECT_URI, VERIFIER,
};

const CHILD_BACKEND: &str = "SECURITY_LOGGING_CHILD_BACKEND";
const CHILD_SECRETS: &str = "SECURITY_LOGGING_CHILD_SECRETS";
const CHILD_TEST: &str = "security_logging::lg_01_child_runs_every_flow_at_trace_level";
/// Everything at trace level, except the crates of the test's own HTTP
/// client (reqwest, hyper and the cookie jar log the cookies they store and
/// send: that is the client's side, not the server's, and the server does not
/// use them).
const SERVER_TRACE: &str = "trace,cookie_store=off,reqwest=off,hyper=off,hyper_util=off,h2=off";
const WRONG_PASSWORD: &str = "wrong-password-Xq7pLm2v";

/// Runs the child on `backend` and returns (log output, secrets).
fn run_child(backend: &str) -> (String, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let secrets_file = dir.path().join("secrets.txt");
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            CHILD_TEST,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_BACKEND, backend)
        .env(CHILD_SECRETS, &secrets_file)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(output.status.success(), "the child failed:\n{}", tail(&log));
    assert!(
        log.contains("1 passed"),
        "the child did not run:\n{}",
        tail(&log)
    );
    let secrets = std::fs::read_to_string(&secrets_file)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    (log, secrets)
}

fn tail(log: &str) -> &str {
    &log[log.len().saturating_sub(4000)..]
}

fn check(backend: &str) {
    let (log, secrets) = run_child(backend);
    assert!(secrets.len() >= 15, "{secrets:?}");
    // Most verbose indeed: trace and debug lines from the server's crates.
    assert!(
        log.contains("TRACE") && log.contains("DEBUG"),
        "not verbose"
    );
    assert!(log.contains("\"level\":\"TRACE\""), "no JSON lines");
    assert!(
        log.contains("/oauth/token") && log.contains("/api/me"),
        "the flows were not logged"
    );

    let leaks: Vec<String> = secrets
        .iter()
        .filter(|secret| log.contains(secret.as_str()))
        .map(|secret| {
            let at = log.find(secret.as_str()).unwrap_or(0);
            let start = log[..at].rfind('\n').map_or(0, |i| i + 1);
            let end = log[at..].find('\n').map_or(log.len(), |i| at + i);
            format!("{secret:?} in: {}", &log[start..end])
        })
        .collect();
    assert!(
        leaks.is_empty(),
        "secrets in the log:\n{}",
        leaks.join("\n")
    );

    // LG-02: security events are logged, with ids but no secrets.
    for event in [
        "user_signed_up",
        "login_succeeded",
        "login_failed",
        "client_auth_failed",
        "client_created",
        "consent_granted",
        "consent_denied",
        "token_issued",
        "token_refused",
        "token_revoked",
        "logout",
    ] {
        assert!(log.contains(event), "no {event} event");
    }
}

#[test]
fn lg_01_no_secrets_in_logs_at_trace_level_sqlite() {
    check("sqlite");
}

#[test]
#[cfg_attr(not(pg_tests), ignore = "set TEST_DATABASE_URL to run on PostgreSQL")]
fn lg_01_no_secrets_in_logs_at_trace_level_postgres() {
    check("postgres");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of lg_01_no_secrets_in_logs_at_trace_level_*, not a test on its own"]
async fn lg_01_child_runs_every_flow_at_trace_level() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let backend = match std::env::var(CHILD_BACKEND).as_deref() {
        Ok("sqlite") => Backend::Sqlite,
        Ok("postgres") => Backend::Postgres,
        _ => panic!("run by lg_01_no_secrets_in_logs_at_trace_level_* only"),
    };
    let secrets_file = std::env::var(CHILD_SECRETS).unwrap();
    tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new(SERVER_TRACE))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::stderr),
        )
        .init();

    let mut secrets = run_every_flow(backend).await;
    secrets.retain(|s| s.len() >= 8);
    std::fs::write(Path::new(&secrets_file), secrets.join("\n")).unwrap();
}

/// Every flow; returns every secret value that went over the wire.
async fn run_every_flow(backend: Backend) -> Vec<String> {
    let app = spawn_app_with(backend, &[]).await;
    let mut secrets = vec![
        PASSWORD.to_owned(),
        WRONG_PASSWORD.to_owned(),
        VERIFIER.to_owned(),
    ];

    // Sign-up, logout, failed and successful login.
    let alice = WebUser::new(&app);
    alice.sign_up("alice").await;
    secrets.extend(cookie_values(&alice));
    let token = alice.get("/").await.csrf_token();
    alice.post("/logout", &[("csrf_token", &token)]).await;
    alice.log_in("alice", WRONG_PASSWORD).await;
    assert_eq!(alice.log_in("alice", PASSWORD).await.status, 303);
    secrets.extend(cookie_values(&alice));

    // Client creation through the page: a code client and a machine client.
    let (id, secret) = alice
        .create_client(&fields(&code_client_form("Logged app")))
        .await;
    let web_client = TestClient {
        id,
        secret: secret.unwrap(),
    };
    let (machine_id, machine_secret) = alice
        .create_client(&[
            ("client_name", "Machine"),
            ("scope", "profile email"),
            ("grant_type", "password\nclient_credentials\nrefresh_token"),
            ("token_endpoint_auth_method", "client_secret_basic"),
        ])
        .await;
    let machine = TestClient {
        id: machine_id,
        secret: machine_secret.unwrap(),
    };
    secrets.extend([web_client.secret.clone(), machine.secret.clone()]);

    // Authorization and consent (approve and deny), code exchange, replay.
    let query = authorize_query(&web_client.id, "&prompt=consent");
    let approved = alice.submit(&query, &query, &[("confirm", "yes")]).await;
    let code = location_params(approved.location())["code"].clone();
    alice.submit(&query, &query, &[("confirm", "no")]).await;
    let by_code = app.redeem(&web_client, &code).await;
    assert_eq!(by_code.status, 200);
    app.redeem(&web_client, &code).await;
    let approved = alice.submit(&query, &query, &[("confirm", "yes")]).await;
    let second_code = location_params(approved.location())["code"].clone();
    let wrong_verifier = format!("{}Z", &VERIFIER[..VERIFIER.len() - 1]);
    app.token(
        Some(&web_client),
        &[
            ("grant_type", "authorization_code"),
            ("code", &second_code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &wrong_verifier),
        ],
    )
    .await;
    secrets.extend([code, second_code, wrong_verifier]);
    secrets.extend(cookie_values(&alice));

    // Password, client credentials (and a wrong secret), refresh, revoke,
    // introspect, /api/me.
    let by_password = app.password_tokens(&machine, "alice", None).await;
    app.password_grant(&machine, "alice", WRONG_PASSWORD).await;
    let by_credentials = app.client_credentials(&machine).await;
    let wrong = TestClient {
        id: machine.id.clone(),
        secret: format!("{}x", machine.secret),
    };
    app.client_credentials(&wrong).await;
    app.post_form(
        "/oauth/token",
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &machine.id),
            ("client_secret", &wrong.secret),
        ],
    )
    .await;
    secrets.push(wrong.secret.clone());
    let refreshed = app
        .refresh(&machine, by_password.str("refresh_token"))
        .await;
    assert_eq!(refreshed.status, 200);
    app.refresh(&machine, by_password.str("refresh_token"))
        .await;
    for answer in [&by_code, &by_password, &by_credentials, &refreshed] {
        for name in ["access_token", "refresh_token"] {
            if !answer.str(name).is_empty() {
                secrets.push(answer.str(name).to_owned());
            }
        }
    }
    let access = refreshed.str("access_token");
    assert_eq!(
        app.introspect_token(&machine, access).await.body["active"],
        true
    );
    app.post_token_with_hint(
        "/oauth/introspect",
        &machine,
        refreshed.str("refresh_token"),
        "refresh_token",
    )
    .await;
    assert_eq!(app.me_status(access).await, 200);
    // The misuse: a token in the query string (refused, and not logged).
    let misuse = app
        .anonymous_get(&format!("/api/me?access_token={access}"))
        .await;
    assert_eq!(misuse.status().as_u16(), 401);
    app.anonymous_get(&format!(
        "/oauth/authorize?code={access}&access_token={access}"
    ))
    .await;
    app.revoke_token(&machine, by_credentials.str("access_token"))
        .await;
    app.revoke_token(&machine, refreshed.str("refresh_token"))
        .await;
    assert_eq!(app.me_status(by_code.str("access_token")).await, 401);

    // Secret rotation shows a new secret once.
    let token = alice
        .get(&format!("/clients/{}", machine.id))
        .await
        .csrf_token();
    let rotated = alice
        .post(
            &format!("/clients/{}/rotate_secret", machine.id),
            &[("csrf_token", &token)],
        )
        .await;
    if let Some(new_secret) = alice
        .get(rotated.location())
        .await
        .element_text("client_secret")
    {
        secrets.push(new_secret);
    }
    secrets.extend(cookie_values(&alice));
    secrets.sort();
    secrets.dedup();
    secrets
}

/// The values of the cookies a visitor holds.
fn cookie_values(user: &WebUser<'_>) -> Vec<String> {
    user.cookies()
        .split("; ")
        .filter_map(|c| c.split_once('=').map(|(_, v)| v.to_owned()))
        .collect()
}
