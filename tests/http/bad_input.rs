//! Hostile and malformed input at the API endpoints: always a 4xx in the
//! protocol's format, never a 5xx, and the server keeps serving.

use crate::both_backends;
use crate::support::{answer, TestApp};

async fn raw_token_request(
    app: &TestApp,
    content_type: &str,
    body: Vec<u8>,
) -> crate::support::Answer {
    answer(
        app.http
            .post(app.url("/oauth/token"))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

const FORM: &str = "application/x-www-form-urlencoded";

both_backends![
    malformed_bodies_are_invalid_request,
    an_oversized_body_is_refused_and_the_server_stays_up,
    sql_metacharacters_are_ordinary_values,
    a_very_long_scope_is_refused,
    malformed_basic_headers_are_4xx,
    unknown_parameters_are_ignored
];

async fn malformed_bodies_are_invalid_request(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
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
        let answer = raw_token_request(&app, content_type, body).await;
        assert_eq!(
            (answer.status, answer.error()),
            (400, "invalid_request"),
            "{content_type} {shown}"
        );
        assert_eq!(answer.header("cache-control"), "no-store");
    }
}

async fn an_oversized_body_is_refused_and_the_server_stays_up(app: TestApp) {
    let body = format!(
        "grant_type=client_credentials&scope={}",
        "a".repeat(2 * 1024 * 1024)
    );

    let answer = raw_token_request(&app, FORM, body.into_bytes()).await;

    assert!((400..500).contains(&answer.status), "{}", answer.status);
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

async fn sql_metacharacters_are_ordinary_values(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let evil = "x' OR '1'='1'; DROP TABLE oauth2_tokens; --";

    let by_id = app
        .token(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", evil),
                ("client_secret", evil),
            ],
        )
        .await;
    let by_code = app
        .token(
            Some(&client),
            &[
                ("grant_type", "authorization_code"),
                ("code", evil),
                ("redirect_uri", evil),
                ("code_verifier", evil),
            ],
        )
        .await;
    let by_refresh = app.refresh(&client, evil).await;
    let by_user = app
        .token(
            Some(&client),
            &[
                ("grant_type", "password"),
                ("username", evil),
                ("password", evil),
            ],
        )
        .await;
    let revoke = app
        .post_form("/oauth/revoke", Some(&client), &[("token", evil)])
        .await;

    assert_eq!(by_id.error(), "invalid_client");
    assert_eq!(by_code.error(), "invalid_grant");
    assert_eq!(by_refresh.error(), "invalid_grant");
    assert_eq!(by_user.error(), "invalid_grant");
    assert_eq!(revoke.status, 200);
    assert_eq!(
        app.password_tokens(&client, "alice", None).await.status,
        200
    );
}

async fn a_very_long_scope_is_refused(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let scope = "profile ".repeat(1600);

    let answer = app
        .token(
            Some(&client),
            &[("grant_type", "client_credentials"), ("scope", &scope)],
        )
        .await;

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
        let answer = answer(
            app.http
                .post(app.url("/oauth/token"))
                .header("Authorization", header)
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (answer.status, answer.error()),
            (401, "invalid_client"),
            "{header}"
        );
    }
}

async fn unknown_parameters_are_ignored(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);

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
