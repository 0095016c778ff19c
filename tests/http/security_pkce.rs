//! SECURITY.md §3, PKCE (PK-01 … PK-11). PKCE with S256 is required for
//! every authorization-code request, public or confidential.

use domain::pkce::CodeChallenge;

use crate::both_backends;
use crate::support::token_requests::shown_and_consented;
use crate::support::web::{encode, WebUser};
use crate::support::{location_params, TestApp, TestClient, PASSWORD, REDIRECT_URI, VERIFIER};

/// `alice` logged in, and a client of hers.
async fn logged_in<'a>(app: &'a TestApp, method: &str) -> (WebUser<'a>, TestClient) {
    let alice = app.user("alice");
    let client = app.client(
        &alice,
        &["authorization_code", "refresh_token"],
        "profile",
        method,
    );
    let browser = WebUser::new(app);
    assert_eq!(browser.log_in("alice", PASSWORD).await.status, 303);
    (browser, client)
}

fn query(client_id: &str, pkce: &str) -> String {
    format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=profile&state=s{pkce}",
        encode(REDIRECT_URI)
    )
}

fn s256() -> String {
    format!(
        "&code_challenge={}&code_challenge_method=S256",
        CodeChallenge::s256_of(VERIFIER)
    )
}

/// The GET and the consent POST of `query`: both must refuse with
/// `invalid_request` (redirected to the client) and issue no code.
async fn assert_refused_at_authorize(browser: &WebUser<'_>, client: &TestClient, query: &str) {
    let consent_page = self::query(&client.id, &s256());
    for answer in shown_and_consented(browser, &consent_page, query).await {
        assert_eq!(answer.status, 302, "{query}");
        let params = location_params(answer.location());
        assert_eq!(params["error"], "invalid_request", "{query}");
        assert!(!params.contains_key("code"), "{query}");
    }
}

async fn redeem_with(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    verifier: Option<&str>,
) -> crate::support::Answer {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    if client.secret.is_empty() {
        form.push(("client_id", &client.id));
        app.token(None, &form).await
    } else {
        app.token(Some(client), &form).await
    }
}

both_backends![
    pk_01_public_client_cannot_complete_the_code_flow_without_pkce,
    pk_02_missing_challenge_is_refused_at_the_authorization_endpoint,
    pk_03_code_with_challenge_needs_a_verifier,
    pk_04_wrong_verifier_is_invalid_grant,
    pk_05_no_downgrade_to_a_code_without_challenge,
    pk_06_plain_method_is_refused,
    pk_07_challenge_without_method_is_refused,
    pk_08_unknown_method_is_invalid_request,
    pk_09_verifier_and_challenge_syntax_is_enforced,
    pk_10_s256_happy_path_for_a_public_client
];

async fn pk_01_public_client_cannot_complete_the_code_flow_without_pkce(app: TestApp) {
    let (browser, client) = logged_in(&app, "none").await;
    assert_refused_at_authorize(&browser, &client, &query(&client.id, "")).await;
}

async fn pk_02_missing_challenge_is_refused_at_the_authorization_endpoint(app: TestApp) {
    let (browser, public) = logged_in(&app, "none").await;
    let alice = app.services.log_in("alice", PASSWORD).unwrap().unwrap();
    let confidential = app.code_only_client(&alice);
    for client in [public, confidential] {
        let missing = query(&client.id, "&code_challenge_method=S256");
        assert_refused_at_authorize(&browser, &client, &missing).await;
    }
}

async fn pk_03_code_with_challenge_needs_a_verifier(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let code = app.code(&client, &alice, None);

    let answer = redeem_with(&app, &client, &code, None).await;

    answer.assert_error_for(400, "invalid_request", "");
    assert!(answer.has_no_access_token());
}

async fn pk_04_wrong_verifier_is_invalid_grant(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let code = app.code(&client, &alice, None);
    let wrong = format!("{}A", &VERIFIER[..VERIFIER.len() - 1]);

    let answer = redeem_with(&app, &client, &code, Some(&wrong)).await;

    answer.assert_error_for(400, "invalid_grant", "");
}

async fn pk_05_no_downgrade_to_a_code_without_challenge(app: TestApp) {
    // A confidential client cannot get a code without a challenge at
    // all, so a verifier can never be presented for a PKCE-less code.
    let (browser, client) = logged_in(&app, "client_secret_basic").await;
    assert_refused_at_authorize(&browser, &client, &query(&client.id, "")).await;
    let params = domain::params::Params::from_pairs([
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", REDIRECT_URI),
    ]);
    assert!(app.services.validate_authorization(&params).is_err());
}

async fn pk_06_plain_method_is_refused(app: TestApp) {
    let (browser, client) = logged_in(&app, "none").await;
    let plain = query(
        &client.id,
        &format!("&code_challenge={VERIFIER}&code_challenge_method=plain"),
    );
    assert_refused_at_authorize(&browser, &client, &plain).await;
}

async fn pk_07_challenge_without_method_is_refused(app: TestApp) {
    let (browser, client) = logged_in(&app, "none").await;
    for challenge in [VERIFIER.to_owned(), CodeChallenge::s256_of(VERIFIER)] {
        let no_method = query(&client.id, &format!("&code_challenge={challenge}"));
        assert_refused_at_authorize(&browser, &client, &no_method).await;
    }
}

async fn pk_08_unknown_method_is_invalid_request(app: TestApp) {
    let (browser, client) = logged_in(&app, "none").await;
    for method in ["S512", "s256", "SHA256", "S256%20"] {
        let unknown = query(
            &client.id,
            &format!(
                "&code_challenge={}&code_challenge_method={method}",
                CodeChallenge::s256_of(VERIFIER)
            ),
        );
        assert_refused_at_authorize(&browser, &client, &unknown).await;
    }
}

async fn pk_09_verifier_and_challenge_syntax_is_enforced(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let code = app.code(&client, &alice, None);
    let too_short = "a".repeat(42);
    let too_long = "a".repeat(129);
    let bad_char = format!("{}+", "a".repeat(43));
    for verifier in [
        too_short.as_str(),
        too_long.as_str(),
        bad_char.as_str(),
        "é".repeat(22).as_str(),
    ] {
        let answer = redeem_with(&app, &client, &code, Some(verifier)).await;
        assert_eq!(answer.status, 400, "{verifier}");
    }
    // Challenges that are not 43 base64url characters are refused.
    let (browser, client) = (WebUser::new(&app), client);
    browser.log_in("alice", PASSWORD).await;
    for challenge in [
        "abc".to_owned(),
        "a".repeat(44),
        format!("{}=", &CodeChallenge::s256_of(VERIFIER)[..42]),
        "+".repeat(43),
    ] {
        let bad = query(
            &client.id,
            &format!(
                "&code_challenge={}&code_challenge_method=S256",
                encode(&challenge)
            ),
        );
        assert_refused_at_authorize(&browser, &client, &bad).await;
    }
}

async fn pk_10_s256_happy_path_for_a_public_client(app: TestApp) {
    let (browser, client) = logged_in(&app, "none").await;
    let good = query(&client.id, &s256());

    let approved = browser.submit(&good, &good, &[("confirm", "yes")]).await;
    let code = location_params(approved.location())["code"].clone();
    let answer = redeem_with(&app, &client, &code, Some(VERIFIER)).await;

    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(app.me_status(answer.str("access_token")).await, 200);
}
