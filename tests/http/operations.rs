//! What operators watch: `/metrics` in the Prometheus text format, on the
//! metrics listener (`--metrics-bind`).

use crate::both_backends;
use crate::support::Backend;
use crate::support::TestApp;

both_backends!(
    settings = &["--metrics-bind", "127.0.0.1:0"],
    metrics_count_requests_tokens_and_errors
);

async fn metrics_count_requests_tokens_and_errors(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    app.client_credentials(&client).await;
    app.token(Some(&client), &[("grant_type", "urn:bogus")])
        .await;
    app.me(Some("Bearer nope")).await;

    let response = app.get_on_metrics_listener("/metrics").await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(crate::support::content_type(&response).starts_with("text/plain"));
    let text = response.text().await.unwrap();

    // The configured 4, plus on SQLite the connection its writer keeps.
    let pool = match app.backend {
        Backend::Sqlite => "db_pool_max_connections 5",
        Backend::Postgres => "db_pool_max_connections 4",
    };
    for expected in [
        pool,
        "http_requests_total{route=\"/oauth/token\",method=\"POST\",status=\"200\"} 1",
        "http_requests_total{route=\"/oauth/token\",method=\"POST\",status=\"400\"} 1",
        "http_request_duration_seconds_count{route=\"/oauth/token\"} 2",
        "oauth_tokens_issued_total{grant_type=\"client_credentials\"} 1",
        "oauth_errors_total{endpoint=\"token\",error=\"unsupported_grant_type\"} 1",
        "oauth_errors_total{endpoint=\"api_me\",error=\"invalid_token\"} 1",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
}
