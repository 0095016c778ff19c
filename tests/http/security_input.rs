//! SECURITY.md §10, bad input (IN-01 … IN-16), and the robustness and
//! error-format rows that hostile input proves: RB-06 (no panic on request
//! data) and LG-03 (no stack trace, SQL or driver text in any error).

use crate::both_backends;
use crate::support::token_requests::{
    assert_token_requests_treat_as_data, shown_and_consented, FORM,
};
use crate::support::web::{authorize_query, encode, signed_in_with_code_client, WebUser};
use crate::support::{location_params, TestApp, PASSWORD, REDIRECT_URI, VERIFIER};

/// Texts an error must never show.
const LEAKS: &[&str] = &[
    "panicked",
    "backtrace",
    "diesel",
    "sqlite",
    "postgres",
    "SELECT ",
    "INSERT ",
    "syntax error",
    "r2d2",
    "src/",
    ".rs:",
];

fn assert_no_internals(body: &str, what: &str) {
    let lower = body.to_lowercase();
    for leak in LEAKS {
        assert!(
            !lower.contains(&leak.to_lowercase()),
            "{what}: {leak:?} in {body:.300}"
        );
    }
}

both_backends![
    in_01_duplicate_parameters_at_the_token_endpoint,
    in_02_duplicate_code_is_refused,
    in_03_duplicate_redirect_uri_at_authorize,
    in_04_duplicate_client_id_at_authorize,
    in_05_oversized_body_is_refused_and_server_stays_up,
    in_06_invalid_utf8_is_4xx,
    in_07_bad_percent_encoding_is_4xx,
    in_08_sql_metacharacters_are_ordinary_values,
    in_09_very_long_scope_at_the_token_endpoint,
    in_10_very_long_scope_at_authorize,
    in_11_json_body_is_invalid_request,
    in_12_get_on_the_token_endpoint_is_refused,
    in_13_nul_bytes_are_4xx,
    in_14_unknown_parameters_are_ignored,
    in_15_malformed_basic_headers_are_4xx,
    in_16_server_alive_after_hostile_input,
    rb_06_no_request_data_makes_a_5xx_or_drops_the_connection,
    lg_03_errors_show_no_stack_trace_sql_or_driver_text
];

async fn in_01_duplicate_parameters_at_the_token_endpoint(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    for form in [
        vec![
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ],
        vec![
            ("grant_type", "client_credentials"),
            ("scope", "profile"),
            ("scope", "profile"),
        ],
        vec![
            ("grant_type", "password"),
            ("username", "alice"),
            ("username", "alice"),
            ("password", PASSWORD),
        ],
        vec![
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
            ("password", PASSWORD),
        ],
    ] {
        let answer = app.token(Some(&client), &form).await;
        answer.assert_error_for(400, "invalid_request", &format!("{form:?}"));
    }
}

async fn in_02_duplicate_code_is_refused(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let code = app.code(&client, &alice, None);

    let answer = app
        .token(
            Some(&client),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;

    answer.assert_error_for(400, "invalid_request", "");
    assert_eq!(
        app.redeem(&client, &code).await.status,
        200,
        "the refused request did not use the code"
    );
}

async fn in_03_duplicate_redirect_uri_at_authorize(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Input app").await;
    let query = format!(
        "{}&redirect_uri={}",
        authorize_query(&client.id, ""),
        encode("https://evil.example/cb")
    );

    for page in shown_and_consented(&alice, &authorize_query(&client.id, ""), &query).await {
        assert_eq!(page.status, 400);
        assert!(page.location().is_empty());
    }
}

async fn in_04_duplicate_client_id_at_authorize(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Input app").await;
    let query = format!(
        "{}&client_id={}",
        authorize_query(&client.id, ""),
        client.id
    );

    let page = alice.get(&query).await;

    assert_eq!(page.status, 400);
    assert!(page.location().is_empty());
}

async fn in_05_oversized_body_is_refused_and_server_stays_up(app: TestApp) {
    let body = format!(
        "grant_type=client_credentials&scope={}",
        "a".repeat(2 * 1024 * 1024)
    );
    for path in [
        "/oauth/token",
        "/oauth/revoke",
        "/oauth/introspect",
        "/login",
    ] {
        let answer = app
            .raw_post(path, FORM, body.clone().into_bytes(), None)
            .await;
        assert!(
            (400..500).contains(&answer.status),
            "{path}: {}",
            answer.status
        );
    }
    assert_eq!(app.get_status("/healthz").await, 200);
}

async fn in_06_invalid_utf8_is_4xx(app: TestApp) {
    let (_, client) = app.user_with_client("bob");
    for path in ["/oauth/token", "/oauth/revoke", "/oauth/introspect"] {
        let answer = app
            .raw_post(
                path,
                FORM,
                b"grant_type=client_credentials&token=\xff\xfe".to_vec(),
                Some(&client),
            )
            .await;
        assert_eq!(answer.status, 400, "{path}");
    }
    let (alice, web_client) = signed_in_with_code_client(&app, "Input app").await;
    let page = alice
        .get(&format!(
            "{}&state=%FF%FE",
            authorize_query(&web_client.id, "")
        ))
        .await;
    assert!(
        (400..500).contains(&page.status) || page.status == 302,
        "{}",
        page.status
    );
}

async fn in_07_bad_percent_encoding_is_4xx(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    for body in [
        "grant_type=client_credentials&scope=%ZZ",
        "grant_type=client_credentials&scope=%4",
        "grant_type=client_credentials%",
    ] {
        let answer = app
            .raw_post(
                "/oauth/token",
                FORM,
                body.as_bytes().to_vec(),
                Some(&client),
            )
            .await;
        answer.assert_error_for(400, "invalid_request", body);
    }
    assert_eq!(app.get_status("/oauth/authorize?client_id=%ZZ").await, 400);
}

async fn in_08_sql_metacharacters_are_ordinary_values(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let evil = "x' OR '1'='1'; DROP TABLE oauth2_tokens; --";

    assert_token_requests_treat_as_data(&app, &client, evil, REDIRECT_URI, VERIFIER).await;
    let introspect = app.introspect_token(&client, evil).await;
    let me = app.me(Some(&format!("Bearer {}", encode(evil)))).await;
    let visitor = WebUser::new(&app);
    let login = visitor.log_in(evil, evil).await;

    assert_eq!(introspect.body["active"], false);
    assert!(me.status == 400 || me.status == 401, "{}", me.status);
    assert!(
        login.status < 500 && login.element_text("login-error").is_some(),
        "{}",
        login.status
    );
    assert!(!visitor.is_logged_in().await);
    assert_eq!(
        app.password_tokens(&client, "alice", None).await.status,
        200
    );
}

async fn in_09_very_long_scope_at_the_token_endpoint(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let scope = "profile ".repeat(16 * 1024);

    let answer = app.client_credentials_with_scope(&client, &scope).await;

    assert!((400..500).contains(&answer.status), "{}", answer.status);
    assert!(answer.has_no_access_token() || !answer.str("scope").contains("admin"));
}

async fn in_10_very_long_scope_at_authorize(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Input app").await;
    for repeat in [200, 2000] {
        let query = authorize_query(&client.id, "").replace(
            "scope=profile",
            &format!("scope={}", "profile+".repeat(repeat)),
        );
        let page = alice.get(&query).await;
        assert!(page.status < 500, "{repeat}: {}", page.status);
        assert!(!location_params_or_empty(page.location()).contains_key("code"));
    }
}

async fn in_11_json_body_is_invalid_request(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    let answer = app
        .raw_post(
            "/oauth/token",
            "application/json",
            br#"{"grant_type":"client_credentials"}"#.to_vec(),
            Some(&client),
        )
        .await;

    answer.assert_error_for(400, "invalid_request", "");
}

async fn in_12_get_on_the_token_endpoint_is_refused(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    let response = app
        .http
        .get(app.url("/oauth/token?grant_type=client_credentials"))
        .basic_auth(&client.id, Some(&client.secret))
        .send()
        .await
        .unwrap();

    assert!(matches!(response.status().as_u16(), 400 | 405));
}

async fn in_13_nul_bytes_are_4xx(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    for body in [
        &b"grant_type=client_credentials&scope=a%00b"[..],
        b"grant_type=client_credentials&scope=a\0b",
        b"grant_type=password&username=alice%00&password=x",
    ] {
        let answer = app
            .raw_post("/oauth/token", FORM, body.to_vec(), Some(&client))
            .await;
        assert_eq!(answer.status, 400, "{body:?}");
    }
    let revoke = app
        .raw_post(
            "/oauth/revoke",
            FORM,
            b"token=a%00b".to_vec(),
            Some(&client),
        )
        .await;
    assert_eq!(revoke.status, 400);
    let login = WebUser::new(&app);
    let token = login.get("/login").await.csrf_token();
    let page = login
        .post(
            "/login",
            &[
                ("csrf_token", &token),
                ("username", "al\0ice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!((400..500).contains(&page.status), "{}", page.status);
}

async fn in_14_unknown_parameters_are_ignored(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Input app").await;
    let query = authorize_query(&client.id, "&foo=bar&nonce=1&frobnicate=none&foo=baz");
    let approved = alice
        .submit(&query, &query, &[("confirm", "yes"), ("extra", "1")])
        .await;
    let code = location_params(approved.location())["code"].clone();

    let answer = app
        .token(
            Some(&client),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
                ("foo", "bar"),
                ("foo", "baz"),
            ],
        )
        .await;

    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

async fn in_15_malformed_basic_headers_are_4xx(app: TestApp) {
    for header in [
        "Basic",
        "Basic !!!",
        "Basic Zm9v",
        "Basic OmZvbw==",
        "Basic w6k6w6k=",
        "Basic JVpaOng=",
        "Digest abc",
        "Basic ",
        &format!("Basic {}", "A".repeat(9000)),
    ] {
        let status = app.token_with_authorization(header).await.status;
        assert!((400..500).contains(&status), "{header:.30}: {status}");
    }
}

async fn in_16_server_alive_after_hostile_input(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    for body in [
        &b"\xff\xfe\xfd"[..],
        b"%",
        b"&&&==&=",
        b"grant_type=%00",
        b"a=b&a=b&a=b",
    ] {
        app.raw_post("/oauth/token", FORM, body.to_vec(), Some(&client))
            .await;
    }
    app.raw_post("/oauth/token", FORM, vec![b'a'; 3 * 1024 * 1024], None)
        .await;

    assert!(app.get_status("/").await < 500);
    assert_eq!(
        app.password_tokens(&client, "alice", None).await.status,
        200
    );
}

async fn rb_06_no_request_data_makes_a_5xx_or_drops_the_connection(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Input app").await;
    let weird: [&[u8]; 8] = [
        b"\xff",
        b"%",
        b"=",
        b"&",
        b"a=%",
        b"%%%%",
        b"grant_type=authorization_code&code=%F0%9F%92%A9",
        b"\0\0\0",
    ];
    for path in ["/oauth/token", "/oauth/revoke", "/oauth/introspect"] {
        for body in weird {
            for content_type in [
                FORM,
                "multipart/form-data; boundary=x",
                "application/json",
                "text/plain",
                "",
            ] {
                let answer = app
                    .raw_post(path, content_type, body.to_vec(), Some(&client))
                    .await;
                assert!(
                    (200..500).contains(&answer.status),
                    "{path} {content_type} {body:?}: {}",
                    answer.status
                );
            }
        }
    }
    for query in [
        "%",
        "%ZZ",
        "client_id=%FF",
        "response_type=code&client_id=&&&&",
        "redirect_uri=%00",
    ] {
        let page = alice.get(&format!("/oauth/authorize?{query}")).await;
        assert!(page.status < 500, "{query}: {}", page.status);
        let page = alice.get(&format!("/login?next={query}")).await;
        assert!(page.status < 500, "{query}: {}", page.status);
    }
    assert_eq!(app.me_status("x").await, 401);
    assert!(alice.is_logged_in().await);
    assert_eq!(client.secret.len(), 43);
}

async fn lg_03_errors_show_no_stack_trace_sql_or_driver_text(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Input app").await;
    let evil = "x' OR 1=1; --\\\"";
    let mut bodies = Vec::new();
    for form in [
        vec![
            ("grant_type", "password"),
            ("username", evil),
            ("password", evil),
        ],
        vec![
            ("grant_type", "authorization_code"),
            ("code", evil),
            ("redirect_uri", evil),
            ("code_verifier", evil),
        ],
        vec![("grant_type", "refresh_token"), ("refresh_token", evil)],
        vec![("grant_type", evil)],
    ] {
        bodies.push(app.token(Some(&client), &form).await.body.to_string());
    }
    bodies.push(
        app.raw_post("/oauth/token", FORM, b"\xff%ZZ".to_vec(), None)
            .await
            .body
            .to_string(),
    );
    bodies.push(app.introspect_token(&client, evil).await.body.to_string());
    bodies.push(
        app.me(Some(&format!("Bearer {}", encode(evil))))
            .await
            .body
            .to_string(),
    );
    for path in [
        format!("/oauth/authorize?client_id={}", encode(evil)),
        "/oauth/authorize?%ZZ".to_owned(),
        format!("/clients/{}", encode(evil)),
        "/no/such/page".to_owned(),
    ] {
        bodies.push(alice.get(&path).await.body);
    }
    for (i, body) in bodies.iter().enumerate() {
        assert_no_internals(body, &format!("response {i}"));
    }
}

fn location_params_or_empty(location: &str) -> std::collections::HashMap<String, String> {
    if location.starts_with("http") {
        location_params(location)
    } else {
        std::collections::HashMap::new()
    }
}
