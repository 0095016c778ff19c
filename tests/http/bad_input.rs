//! Hostile and malformed input at the API endpoints: always a 4xx in the
//! protocol's format, never a 5xx, and the server keeps serving.

use crate::both_backends;
use crate::support::token_requests::{assert_token_requests_treat_as_data, FORM};
use crate::support::TestApp;

both_backends![
    malformed_bodies_are_invalid_request,
    an_oversized_body_is_refused_and_the_server_stays_up,
    sql_metacharacters_are_ordinary_values,
    a_very_long_scope_is_refused,
    malformed_basic_headers_are_4xx,
    unknown_parameters_are_ignored
];

async fn malformed_bodies_are_invalid_request(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let auth = format!("client_id={}&client_secret={}", client.id, client.secret);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            FORM,
            b"grant_type=client_credentials&scope=\xff\xfe".to_vec(),
        ),
        (FORM, b"grant_type=client_credentials&scope=%ZZ".to_vec()),
        (FORM, b"grant_type=client_credentials&scope=a%00b".to_vec()),
        (
            FORM,
            format!("grant_type=client_credentials&x=\0&{auth}").into_bytes(),
        ),
        (
            "application/json",
            br#"{"grant_type":"client_credentials"}"#.to_vec(),
        ),
        ("text/plain", b"grant_type=client_credentials".to_vec()),
    ];

    for (content_type, body) in cases {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let answer = app.raw_post("/oauth/token", content_type, body, None).await;
        answer.assert_error_for(400, "invalid_request", &format!("{content_type} {shown}"));
        assert_eq!(answer.header("cache-control"), "no-store");
    }
}

async fn an_oversized_body_is_refused_and_the_server_stays_up(app: TestApp) {
    let body = format!(
        "grant_type=client_credentials&scope={}",
        "a".repeat(2 * 1024 * 1024)
    );

    let answer = app
        .raw_post("/oauth/token", FORM, body.into_bytes(), None)
        .await;

    assert!((400..500).contains(&answer.status), "{}", answer.status);
    assert_eq!(app.get_status("/healthz").await, 200);
}

async fn sql_metacharacters_are_ordinary_values(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let evil = "x' OR '1'='1'; DROP TABLE oauth2_tokens; --";

    assert_token_requests_treat_as_data(&app, &client, evil, evil, evil).await;
    assert_eq!(
        app.password_tokens(&client, "alice", None).await.status,
        200
    );
}

async fn a_very_long_scope_is_refused(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let scope = "profile ".repeat(1600);

    let answer = app.client_credentials_with_scope(&client, &scope).await;

    assert_eq!(answer.status, 400);
    assert!(answer.error() == "invalid_scope" || answer.error() == "invalid_request");
}

async fn malformed_basic_headers_are_4xx(app: TestApp) {
    for header in [
        "Basic",
        "Basic !!!",
        "Basic Zm9v",
        "Basic OmZvbw==",
        "Basic w6k6w6k=",
        "Digest abc",
    ] {
        app.token_with_authorization(header)
            .await
            .assert_error_for(401, "invalid_client", header);
    }
}

async fn unknown_parameters_are_ignored(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    let answer = app
        .token(
            Some(&client),
            &[
                ("grant_type", "client_credentials"),
                ("foo", "bar"),
                ("foo", "baz"),
            ],
        )
        .await;

    assert_eq!(answer.status, 200);
}
