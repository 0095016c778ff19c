//! Database faults (SECURITY.md RB-04, RB-05): while the database is
//! unreachable or locked, API endpoints answer 503 with `Retry-After` and a
//! JSON error, pages a 503 page, no request hangs beyond a bound, and the
//! server recovers by itself when the database returns.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::Connection;

use crate::support::chaos::Proxy;
use crate::support::{spawn_app_reaching_database_at, spawn_app_with, Backend, TestApp};

/// Longest a request may take while the database is out.
const BOUND: Duration = Duration::from_secs(12);

async fn timed<F: std::future::Future>(future: F) -> (F::Output, Duration) {
    let started = Instant::now();
    let output = tokio::time::timeout(BOUND, future)
        .await
        .expect("the request hung beyond its bound");
    (output, started.elapsed())
}

/// Every kind of endpoint during an outage: API endpoints 503 + JSON +
/// Retry-After, the page 503 page, `/readyz` 503, `/healthz` still 200.
async fn assert_unavailable(
    app: &TestApp,
    client: &crate::support::TestClient,
    expect_readyz_down: bool,
) {
    let (token, _) = timed(app.token(Some(client), &[("grant_type", "client_credentials")])).await;
    token.assert_error(503, "temporarily_unavailable");
    assert!(!token.header("retry-after").is_empty());
    assert_eq!(token.header("cache-control"), "no-store");

    // Anonymous pages need no database; a login does (it reads the user
    // and, on a wrong password, writes the failure).
    let visitor = crate::support::web::WebUser::new(app);
    let form = visitor.get("/login").await;
    assert_eq!(form.status, 200);
    let (page, _) = timed(visitor.post(
        "/login",
        &[
            ("csrf_token", &form.csrf_token()),
            ("username", "alice"),
            ("password", "wrong password"),
        ],
    ))
    .await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(!page.header("retry-after").is_empty());
    assert!(page.body.contains("Temporarily unavailable"));

    if expect_readyz_down {
        let (ready, _) = timed(app.http.get(app.url("/readyz")).send()).await;
        assert_eq!(ready.unwrap().status().as_u16(), 503);
    }
    let (alive, _) = timed(app.http.get(app.url("/healthz")).send()).await;
    assert_eq!(alive.unwrap().status().as_u16(), 200);
}

async fn assert_recovered(app: &TestApp, client: &crate::support::TestClient) {
    let mut last = 0;
    for _ in 0..40 {
        last = app
            .token(Some(client), &[("grant_type", "client_credentials")])
            .await
            .status;
        if last == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(last, 200, "the server did not recover without a restart");
    assert_eq!(app.get("/login").await.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rb_04_a_locked_sqlite_database_gives_503_then_recovers_sqlite() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    let (_, client) = app.user_with_client("alice");
    assert_eq!(app.client_credentials(&client).await.status, 200);
    let path = app.database_url.trim_start_matches("sqlite://").to_owned();

    // Another process holds the write lock.
    let mut locker = diesel::SqliteConnection::establish(&path).unwrap();
    locker.batch_execute("BEGIN EXCLUSIVE").unwrap();
    assert_unavailable(&app, &client, false).await;
    locker.batch_execute("COMMIT").unwrap();

    assert_recovered(&app, &client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(pg_tests), ignore = "set TEST_DATABASE_URL to run on PostgreSQL")]
async fn rb_04_an_unreachable_postgres_gives_503_then_recovers_postgres() {
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let port = proxy.port();
    let app = spawn_app_reaching_database_at(Backend::Postgres, &[], |url| {
        let mut url = url::Url::parse(url).unwrap();
        url.set_port(Some(port)).unwrap();
        url.to_string()
    })
    .await;
    let (_, client) = app.user_with_client("alice");
    assert_eq!(app.client_credentials(&client).await.status, 200);

    proxy.cut();
    assert_unavailable(&app, &client, true).await;
    proxy.restore().await;

    assert_recovered(&app, &client).await;
}
