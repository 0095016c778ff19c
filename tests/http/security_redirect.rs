//! SECURITY.md §1, redirect URI handling (RU-01 … RU-09), including the
//! table of redirect-URI bypass attempts and loopback matching (RFC 8252
//! §7.3).

use domain::client::RegistrationInput;
use domain::pkce::CodeChallenge;

use crate::both_backends;
use crate::support::web::{
    authorize_query, code_client_form, encode, fields, signed_in_with_code_client, WebUser,
};
use crate::support::{location_params, TestApp, TestClient, PASSWORD, REDIRECT_URI, VERIFIER};

/// Attempts to get a code or a redirect somewhere else than the registered
/// `https://client.example.com/cb`.
const BYPASSES: &[&str] = &[
    // prefix and suffix tricks
    "https://client.example.com/cb/",
    "https://client.example.com/cbx",
    "https://client.example.com/c",
    "https://client.example.com/",
    "https://client.example.com",
    "https://client.example.com.evil.example/cb",
    "https://evil.example/https://client.example.com/cb",
    "https://evil-client.example.com/cb",
    // added path, query, fragment
    "https://client.example.com/cb/evil",
    "https://client.example.com/cb?x=1",
    "https://client.example.com/cb?",
    "https://client.example.com/cb?redirect=https://evil.example",
    "https://client.example.com/cb#frag",
    "https://client.example.com/cb#",
    "https://client.example.com/cb;x",
    // case changes
    "https://CLIENT.example.com/cb",
    "https://client.example.com/CB",
    "HTTPS://client.example.com/cb",
    "https://client.EXAMPLE.com/cb",
    // encoded dots and slashes, traversal
    "https://client.example.com/cb/../cb",
    "https://client.example.com/x/../cb",
    "https://client.example.com/cb/%2e%2e/cb",
    "https://client.example.com/%2e%2e/cb",
    "https://client.example.com/cb/..;/evil",
    "https://client.example.com/cb%2fevil",
    "https://client.example.com%2fcb",
    "https://client.example.com/%63b",
    "https://client.example.com./cb",
    // backslashes
    "https://client.example.com\\cb",
    "https://client.example.com\\@evil.example/cb",
    "https://client.example.com/cb\\..\\evil",
    // userinfo and @
    "https://client.example.com@evil.example/cb",
    "https://evil.example@client.example.com/cb",
    "https://user:pw@client.example.com/cb",
    "https://client.example.com%25@evil.example/cb",
    "https://client.example.com%40evil.example/cb",
    "https://client.example.com/cb@evil.example",
    // ports
    "https://client.example.com:443/cb",
    "https://client.example.com:8443/cb",
    "https://client.example.com:/cb",
    // scheme downgrade and changes
    "http://client.example.com/cb",
    "wss://client.example.com/cb",
    "ftp://client.example.com/cb",
    "com.example.client:/cb",
    // scheme-relative and scheme-only forms
    "//client.example.com/cb",
    "//evil.example/cb",
    "///client.example.com/cb",
    "https:client.example.com/cb",
    "https:/client.example.com/cb",
    "https:///client.example.com/cb",
    // script and data schemes in any case
    "javascript:alert(document.domain)//",
    "JaVaScRiPt:alert(1)//https://client.example.com/cb",
    "JAVASCRIPT:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "DATA:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    // whitespace and control characters
    " https://client.example.com/cb",
    "https://client.example.com/cb ",
    "https://client.example.com/cb\t",
    "https://client.example.com/cb\n",
    "https://client.example.com/cb%00",
    "https://client.example.com/cb%0d%0aLocation:%20https://evil.example",
];

/// A code-flow client registered with `uris`, owned by a new user `owner`.
fn client_with_uris(app: &TestApp, owner: &str, uris: &[&str], method: &str) -> TestClient {
    let user = app.user(owner);
    let input = RegistrationInput {
        client_name: "Native app".to_owned(),
        client_uri: String::new(),
        redirect_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
        grant_types: vec!["authorization_code".to_owned()],
        response_types: vec!["code".to_owned()],
        scope: "profile".to_owned(),
        token_endpoint_auth_method: method.to_owned(),
        ..RegistrationInput::default()
    };
    app.register(&user, &input)
}

/// An authorization request for `client_id` with `redirect_uri` (raw value,
/// encoded here).
fn request_with(client_id: &str, redirect_uri: &str) -> String {
    let challenge = CodeChallenge::s256_of(VERIFIER);
    format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=profile&state=st-1&code_challenge={challenge}&code_challenge_method=S256",
        encode(redirect_uri)
    )
}

/// The response is no redirect, or a redirect to exactly `registered`
/// (query allowed, nothing else), and carries no code or token.
fn assert_no_escape(
    status: u16,
    location: &str,
    body: &str,
    registered: &str,
    what: &str,
) -> Result<(), String> {
    if (300..400).contains(&status) {
        let base = location.split(['?', '#']).next().unwrap_or("");
        if base != registered {
            return Err(format!("{what}: {status} to {location:?}"));
        }
        if location.contains("code=") || location.contains("access_token=") {
            return Err(format!("{what}: a code in {location:?}"));
        }
    }
    if status < 300 && body.contains("code=") {
        return Err(format!("{what}: the body mentions a code"));
    }
    Ok(())
}

both_backends![
    ru_01_redirect_uri_exact_match,
    ru_01_raw_encoded_traversal_in_the_query_is_refused,
    ru_02_no_default_redirect_uri_with_several_registered,
    ru_02_a_single_registered_uri_is_the_default,
    ru_03_unknown_client_is_an_error_page_not_a_redirect,
    ru_04_token_redirect_uri_must_be_identical,
    ru_05_token_redirect_uri_is_required_when_it_was_sent,
    ru_06_script_and_data_schemes_are_refused_at_registration,
    ru_07_login_next_is_local_only,
    ru_08_errors_for_a_valid_client_redirect_with_error_and_state,
    ru_09_loopback_any_port_exact_path_and_query,
    ru_09_loopback_query_must_match_too
];

async fn ru_01_redirect_uri_exact_match(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Redirect app").await;
    assert!(BYPASSES.len() >= 30);
    // A valid consent page gives the session's CSRF token.
    let token = alice
        .get(&authorize_query(&client.id, ""))
        .await
        .csrf_token();
    let mut failures = Vec::new();

    for variant in BYPASSES {
        let query = request_with(&client.id, variant);
        let shown = alice.get(&query).await;
        if let Err(e) = assert_no_escape(
            shown.status,
            shown.location(),
            &shown.body,
            REDIRECT_URI,
            &format!("GET {variant:?}"),
        ) {
            failures.push(e);
        }
        if shown.status >= 500 || (200..300).contains(&shown.status) {
            failures.push(format!(
                "GET {variant:?}: {} (expected an error page)",
                shown.status
            ));
        }
        let posted = alice
            .post(&query, &[("csrf_token", &token), ("confirm", "yes")])
            .await;
        if let Err(e) = assert_no_escape(
            posted.status,
            posted.location(),
            &posted.body,
            REDIRECT_URI,
            &format!("POST {variant:?}"),
        ) {
            failures.push(e);
        }
        if posted.status >= 500 {
            failures.push(format!("POST {variant:?}: {}", posted.status));
        }
    }

    assert!(failures.is_empty(), "{failures:#?}");
    // The registered URI itself still works, so the table is not vacuous.
    let query = authorize_query(&client.id, "");
    let approved = alice
        .post(&query, &[("csrf_token", &token), ("confirm", "yes")])
        .await;
    assert!(approved
        .location()
        .starts_with(&format!("{REDIRECT_URI}?code=")));
}

async fn ru_01_raw_encoded_traversal_in_the_query_is_refused(app: TestApp) {
    // The same tricks sent without encoding them once more, so that the
    // server's own decoding produces `..`, `/`, `@` or `\`.
    let (alice, client) = signed_in_with_code_client(&app, "Redirect app").await;
    let challenge = CodeChallenge::s256_of(VERIFIER);
    for raw in [
        "https://client.example.com/cb/%2e%2e/evil",
        "https://client.example.com/cb%2f..%2fevil",
        "https://client.example.com%5c@evil.example/cb",
        "https://client.example.com%40evil.example/cb",
        "https%3A%2F%2Fclient.example.com%2Fcb%2F..%3B%2Fevil",
        "https%3A%2F%2Fclient.example.com%2Fcb%23x",
    ] {
        let query = format!("/oauth/authorize?response_type=code&client_id={}&redirect_uri={raw}&state=s&code_challenge={challenge}&code_challenge_method=S256", client.id);
        let page = alice.get(&query).await;
        assert_no_escape(page.status, page.location(), &page.body, REDIRECT_URI, raw).unwrap();
        assert_eq!(page.status, 400, "{raw}");
    }
}

async fn ru_02_no_default_redirect_uri_with_several_registered(app: TestApp) {
    let client = client_with_uris(
        &app,
        "bob",
        &[REDIRECT_URI, "https://client.example.com/other"],
        "client_secret_basic",
    );
    let bob = WebUser::new(&app);
    bob.log_in("bob", PASSWORD).await;
    let challenge = CodeChallenge::s256_of(VERIFIER);
    let query = format!("/oauth/authorize?response_type=code&client_id={}&state=s&code_challenge={challenge}&code_challenge_method=S256", client.id);

    let shown = bob.get(&query).await;
    assert_eq!(shown.status, 400);
    assert!(shown.location().is_empty());
    let token = bob
        .get(&request_with(&client.id, REDIRECT_URI))
        .await
        .csrf_token();
    let posted = bob
        .post(&query, &[("csrf_token", &token), ("confirm", "yes")])
        .await;
    assert_eq!(posted.status, 400);
    assert!(posted.location().is_empty());
}

async fn ru_02_a_single_registered_uri_is_the_default(app: TestApp) {
    // The other half of the rule: with one URI, omitting it is fine.
    let (alice, client) = signed_in_with_code_client(&app, "Redirect app").await;
    let query = authorize_query(&client.id, "")
        .replace(&format!("&redirect_uri={}", encode(REDIRECT_URI)), "");
    let approved = alice.submit_at(&query, &[("confirm", "yes")]).await;
    assert!(approved
        .location()
        .starts_with(&format!("{REDIRECT_URI}?code=")));
}

async fn ru_03_unknown_client_is_an_error_page_not_a_redirect(app: TestApp) {
    let (alice, _) = signed_in_with_code_client(&app, "Redirect app").await;
    for query in [
        "/oauth/authorize?response_type=code&client_id=no-such-client&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&state=s",
        "/oauth/authorize?response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&state=s",
        "/oauth/authorize?response_type=code&client_id=&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
    ] {
        for page in [alice.get(query).await, WebUser::new(&app).get(query).await] {
            assert_eq!(page.status, 400, "{query}");
            assert!(page.location().is_empty(), "{query}");
        }
    }
}

async fn ru_04_token_redirect_uri_must_be_identical(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let code = app.code(&client, &alice, None);
    for other in [
        format!("{REDIRECT_URI}/other"),
        format!("{REDIRECT_URI}/"),
        "https://CLIENT.example.com/cb".to_owned(),
    ] {
        let answer = app
            .token(
                Some(&client),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", &other),
                    ("code_verifier", VERIFIER),
                ],
            )
            .await;
        answer.assert_error_for(400, "invalid_grant", &other);
    }
}

async fn ru_05_token_redirect_uri_is_required_when_it_was_sent(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let code = app.code(&client, &alice, None);

    let omitted = app
        .token(
            Some(&client),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;

    assert_eq!(omitted.status, 400);
    assert!(omitted.body.get("access_token").is_none());
}

async fn ru_06_script_and_data_schemes_are_refused_at_registration(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    for uri in [
        "javascript:alert(document.domain)//",
        "JaVaScRiPt:alert(1)//",
        "data:text/html,<script>alert(1)</script>",
        "DaTa:text/html,x",
        "vbscript:msgbox(1)",
        "http://client.example.com/cb",
    ] {
        let mut form = code_client_form("Evil");
        form[3].1 = uri.to_owned();
        let page = alice.submit_at("/create_client", &fields(&form)).await;
        assert_eq!(page.status, 400, "{uri}");
        assert!(page.body.contains("data-field=\"redirect_uri\""), "{uri}");
    }
    assert!(!alice.get("/").await.body.contains("client-link"));
    // The domain refuses them whatever the path.
    let user = app.user("bob");
    let mut input = RegistrationInput {
        client_name: "x".to_owned(),
        client_uri: String::new(),
        redirect_uris: vec!["javascript:alert(1)".to_owned()],
        grant_types: vec!["authorization_code".to_owned()],
        response_types: vec!["code".to_owned()],
        scope: "profile".to_owned(),
        token_endpoint_auth_method: "none".to_owned(),
        ..RegistrationInput::default()
    };
    assert!(app.services.register_client(&user.id, &input).is_err());
    input.redirect_uris = vec!["DATA:text/html,x".to_owned()];
    assert!(app.services.register_client(&user.id, &input).is_err());
}

async fn ru_07_login_next_is_local_only(app: TestApp) {
    app.user("alice");
    for next in [
        "https://evil.example/cb",
        "//evil.example/x",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/%2f%2fevil.example",
        "https:evil.example",
    ] {
        let visitor = WebUser::new(&app);
        let path = format!("/login?next={}", encode(next));
        let answer = visitor
            .submit_at(&path, &[("username", "alice"), ("password", PASSWORD)])
            .await;
        assert_eq!(answer.status, 303, "{next}");
        let location = answer.location();
        assert!(
            location.starts_with('/')
                && !location.starts_with("//")
                && !location.starts_with("/\\"),
            "next={next}: {location}"
        );
        assert!(
            !location.contains("evil.example") || location.starts_with("/%2f"),
            "next={next}: {location}"
        );
    }
}

async fn ru_08_errors_for_a_valid_client_redirect_with_error_and_state(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Redirect app").await;
    let bogus =
        authorize_query(&client.id, "").replace("response_type=code", "response_type=bogus");

    let answer = alice.get(&bogus).await;

    assert_eq!(answer.status, 302);
    assert!(answer.location().starts_with(&format!("{REDIRECT_URI}?")));
    let params = location_params(answer.location());
    assert_eq!(params["error"], "unsupported_response_type");
    assert_eq!(params["state"], "st-1");
    assert!(!params.contains_key("code"));
    let denied = alice
        .submit(
            &authorize_query(&client.id, ""),
            &authorize_query(&client.id, ""),
            &[("confirm", "no")],
        )
        .await;
    let params = location_params(denied.location());
    assert_eq!(
        (params["error"].as_str(), params["state"].as_str()),
        ("access_denied", "st-1")
    );
    assert!(!params.contains_key("code"));
}

async fn ru_09_loopback_any_port_exact_path_and_query(app: TestApp) {
    let client = client_with_uris(&app, "bob", &["http://127.0.0.1/cb"], "none");
    let bob = WebUser::new(&app);
    bob.log_in("bob", PASSWORD).await;

    let with_port = "http://127.0.0.1:51234/cb";
    let query = request_with(&client.id, with_port);
    let approved = bob.submit_at(&query, &[("confirm", "yes")]).await;
    assert_eq!(approved.status, 302);
    approved.assert_location_starts_with(&format!("{with_port}?code="));
    let code = location_params(approved.location())["code"].clone();
    let tokens = app
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", with_port),
                ("code_verifier", VERIFIER),
                ("client_id", &client.id),
            ],
        )
        .await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);

    let token = bob.get(&query).await.csrf_token();
    for bad in [
        "http://127.0.0.1:51234/cb/",
        "http://127.0.0.1:51234/other",
        "http://127.0.0.1:51234/cb?x=1",
        "http://127.0.0.1:51234/CB",
        "http://127.0.0.1:51234@evil.example/cb",
        "http://127.0.0.1.evil.example:51234/cb",
        "http://127.0.0.2:51234/cb",
        "http://localhost:51234/cb",
        "https://127.0.0.1:51234/cb",
        "http://127.0.0.1:/cb",
        "http://127.0.0.1:123456/cb",
    ] {
        let query = request_with(&client.id, bad);
        let shown = bob.get(&query).await;
        assert_eq!(shown.status, 400, "{bad}");
        let posted = bob
            .post(&query, &[("csrf_token", &token), ("confirm", "yes")])
            .await;
        assert_eq!(posted.status, 400, "{bad}");
        assert!(posted.location().is_empty(), "{bad}");
    }
}

async fn ru_09_loopback_query_must_match_too(app: TestApp) {
    let client = client_with_uris(&app, "bob", &["http://127.0.0.1/cb?app=1"], "none");
    let bob = WebUser::new(&app);
    bob.log_in("bob", PASSWORD).await;
    let good = request_with(&client.id, "http://127.0.0.1:4000/cb?app=1");
    let approved = bob.submit_at(&good, &[("confirm", "yes")]).await;
    approved.assert_location_starts_with("http://127.0.0.1:4000/cb?app=1&code=");
    for bad in [
        "http://127.0.0.1:4000/cb?app=2",
        "http://127.0.0.1:4000/cb",
        "http://127.0.0.1:4000/cb?app=1&x=2",
    ] {
        assert_eq!(
            bob.get(&request_with(&client.id, bad)).await.status,
            400,
            "{bad}"
        );
    }
}
