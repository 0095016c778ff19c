//! Issue 11, infrastructure hardening: the client address behind a proxy
//! that appends ports (11.3), a deadline on request bodies (11.4), `/metrics`
//! only on its own listener (11.17) and HSTS with an https issuer (11.18).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::both_backends;
use crate::support::{spawn_app_with, Backend, TestApp, TestClient};

use crate::brute_force::{guess_from as guess_through_proxy, THREE_FAILURES_BEHIND_A_PROXY};

both_backends!(
    settings = THREE_FAILURES_BEHIND_A_PROXY,
    a_forged_entry_left_of_a_proxy_appended_ip_port_is_not_the_address,
    an_unparseable_entry_counts_as_the_proxy_not_the_entry_left_of_it
);

/// Three failed guesses as `names[..3]`, the i-th from the
/// `X-Forwarded-For` that `forwarded` makes of i, each still answered
/// (400); then one as `names[3]` from `fourth`: limited (429), so the three
/// were counted against one address.
async fn limited_at_the_fourth_guess(
    app: &TestApp,
    client: &TestClient,
    names: [&str; 4],
    forwarded: impl Fn(usize) -> String,
    fourth: &str,
) {
    for (i, name) in names[..3].iter().enumerate() {
        assert_eq!(
            guess_through_proxy(app, client, &forwarded(i), name).await,
            400,
            "{name}"
        );
    }
    assert_eq!(
        guess_through_proxy(app, client, fourth, names[3]).await,
        429,
        "{fourth}"
    );
}

async fn a_forged_entry_left_of_a_proxy_appended_ip_port_is_not_the_address(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    // The trusted proxy appends what it saw as ip:port; the client
    // writes a new address on the left each time.
    limited_at_the_fourth_guess(
        &app,
        &client,
        ["d1", "d2", "d3", "d4"],
        |i| format!("192.0.2.{i}, 203.0.113.9:5123{i}"),
        "192.0.2.99, 203.0.113.9:40000",
    )
    .await;
    // The same for [v6]:port entries, counted by their /64.
    limited_at_the_fourth_guess(
        &app,
        &client,
        ["e1", "e2", "e3", "e4"],
        |i| format!("192.0.2.1{i}, [2001:db8:1:2::9]:443"),
        "198.51.100.5, [2001:db8:1:2::77]:1",
    )
    .await;
    // Another client behind the same proxy still has its own budget.
    assert_eq!(
        guess_through_proxy(&app, &client, "203.0.113.10:40000", "f1").await,
        400
    );
}

async fn an_unparseable_entry_counts_as_the_proxy_not_the_entry_left_of_it(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    // All three counted against the proxy (the peer), whatever the left entry.
    limited_at_the_fourth_guess(
        &app,
        &client,
        ["g1", "g2", "g3", "g4"],
        |i| format!("192.0.2.{i}, unknown"),
        "192.0.2.200, garbage",
    )
    .await;
}

/// Sends a request head announcing a 100-byte body, then 10 bytes, then
/// nothing; returns what the server answered and how long until it closed.
async fn stalled_body(app: &TestApp, path: &str) -> (String, Duration) {
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 100\r\n\r\ngrant_type"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes a connection whose body stalls")
        .unwrap();
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

both_backends!(
    settings = &["--body-timeout", "1"],
    a_stalled_body_gets_408_and_the_connection_closes,
    a_body_that_arrives_in_time_is_read_as_before
);

async fn a_stalled_body_gets_408_and_the_connection_closes(app: TestApp) {
    let (endpoint, waited) = stalled_body(&app, "/oauth/token").await;
    assert!(endpoint.starts_with("HTTP/1.1 408"), "{endpoint}");
    assert!(
        endpoint.contains("\"error\":\"invalid_request\""),
        "{endpoint}"
    );
    assert!(
        endpoint.to_ascii_lowercase().contains("connection: close"),
        "{endpoint}"
    );
    assert!(waited < Duration::from_secs(4), "{waited:?}");

    let (page, waited) = stalled_body(&app, "/login").await;
    assert!(page.starts_with("HTTP/1.1 408"), "{page}");
    assert!(
        page.contains("text/html") && page.contains("Request timeout"),
        "{page}"
    );
    assert!(waited < Duration::from_secs(4), "{waited:?}");

    let (revoke, _) = stalled_body(&app, "/account/apps/x/revoke").await;
    assert!(revoke.starts_with("HTTP/1.1 408"), "{revoke}");
}

async fn a_body_that_arrives_in_time_is_read_as_before(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let answer = app.client_credentials(&client).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    // Over the size limit: still the endpoint's own error.
    let big = "x".repeat(20_000);
    let answer = app
        .token(
            Some(&client),
            &[("grant_type", "client_credentials"), ("scope", &big)],
        )
        .await;
    answer.assert_error(400, "invalid_request");
}

both_backends!(
    settings = &["--metrics-bind", "127.0.0.1:0"],
    metrics_are_served_on_their_own_listener_only
);

async fn metrics_are_served_on_their_own_listener_only(app: TestApp) {
    let public = app.get("/metrics").await;
    assert_eq!(public.status().as_u16(), 404);

    let private = app.get_on_metrics_listener("/metrics").await;
    assert_eq!(private.status().as_u16(), 200);
    assert!(crate::support::content_type(&private).starts_with("text/plain; version=0.0.4"));
    assert!(private
        .text()
        .await
        .unwrap()
        .contains("# TYPE http_requests_total counter"));
    // The metrics listener serves nothing else.
    let other = app.get_on_metrics_listener("/healthz").await;
    assert_eq!(other.status().as_u16(), 404);
}

both_backends![without_metrics_bind_there_is_no_metrics_anywhere];

async fn without_metrics_bind_there_is_no_metrics_anywhere(app: TestApp) {
    assert!(app.metrics_address.is_none());
    let public = app.get("/metrics").await;
    assert_eq!(public.status().as_u16(), 404);
}

const SESSION_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_issuer_sends_hsts_on_every_response() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            "--issuer",
            "https://auth.example.com",
            "--session-key",
            SESSION_KEY,
        ],
    )
    .await;

    for (method, path) in [
        ("GET", "/healthz"),
        ("GET", "/login"),
        ("POST", "/oauth/token"),
        ("GET", "/nowhere"),
    ] {
        let response = app
            .http
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response
                .headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some("max-age=31536000; includeSubDomains"),
            "{method} {path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_issuer_sends_no_hsts() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;

    let response = app.get("/login").await;

    assert!(response
        .headers()
        .get("strict-transport-security")
        .is_none());
}
