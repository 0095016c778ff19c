//! The authorization code: SECURITY.md §2 (AC-01 … AC-13), and the grant at
//! the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.5–§4.6): single use,
//! replay revocation, binding to client, redirect URI and verifier, expiry,
//! and concurrent redemption.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::both_backends;
use crate::support::token_requests::shown_and_consented;
use crate::support::web::{authorize_query, encode, signed_in_with_code_client, WebUser};
use crate::support::{base64url_bits, location_params, REDIRECT_URI, VERIFIER};
use crate::support::{Answer, TestApp, TestClient};

/// Approves `query` in the browser and returns the redirect's parameters.
async fn approve(user: &WebUser<'_>, query: &str) -> std::collections::HashMap<String, String> {
    let approved = user.submit(query, query, &[("confirm", "yes")]).await;
    assert_eq!(approved.status, 302, "{}", approved.body);
    location_params(approved.location())
}

both_backends![
    ac_01_code_is_single_use,
    ac_02_code_replay_revokes_issued_tokens,
    ac_03_code_is_bound_to_its_client,
    ac_04_state_is_returned_byte_exact,
    ac_05_denied_consent_is_access_denied_without_code,
    ac_06_codes_are_distinct_and_carry_128_bits,
    ac_07_scope_beyond_registered_is_refused,
    ac_08_unregistered_response_type_is_unauthorized_client,
    ac_09_anonymous_browser_goes_to_login_never_a_code,
    ac_10_consent_only_by_post_never_by_get,
    ac_12_authorization_response_carries_iss,
    ac_13_codes_are_not_stored_in_clear,
    a_code_is_redeemed_once_and_a_replay_revokes_its_tokens,
    a_code_is_bound_to_its_client,
    redirect_uri_must_repeat_the_authorization_request,
    the_pkce_verifier_is_required_and_checked,
    an_unknown_code_is_invalid_grant_and_a_missing_one_invalid_request,
    a_public_client_redeems_with_its_id_and_verifier_and_gets_no_refresh_token,
    ten_concurrent_redemptions_one_success,
];

async fn ac_01_code_is_single_use(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let code = app.code(&client, &alice, None);

    assert_eq!(app.redeem(&client, &code).await.status, 200);
    let second = app.redeem(&client, &code).await;

    second.assert_error_for(400, "invalid_grant", "");
}

async fn ac_02_code_replay_revokes_issued_tokens(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let code = app.code(&client, &alice, None);
    let first = app.redeem(&client, &code).await;
    assert_eq!(app.me_status(first.str("access_token")).await, 200);

    app.redeem(&client, &code).await;

    assert_eq!(app.me_status(first.str("access_token")).await, 401);
    let refreshed = app.refresh(&client, first.str("refresh_token")).await;
    refreshed.assert_error_for(400, "invalid_grant", "");
}

/// A code of one client redeemed by another client of the same owner:
/// `invalid_grant` (RFC 6749 §4.1.3: the code is bound to its client).
/// Returns the code and the answer to the other client.
async fn redeemed_by_another_client(app: &TestApp) -> (TestClient, String, Answer) {
    let (alice, client) = app.user_with_client("alice");
    let other = app.full_client(&alice);
    let code = app.code(&client, &alice, None);

    let stolen = app.redeem(&other, &code).await;

    stolen.assert_error_for(400, "invalid_grant", "");
    (client, code, stolen)
}

async fn ac_03_code_is_bound_to_its_client(app: TestApp) {
    let (_, _, stolen) = redeemed_by_another_client(&app).await;

    assert!(stolen.has_no_access_token());
}

async fn ac_04_state_is_returned_byte_exact(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Code app").await;
    for state in ["st-é &=/?x", "a+b%20c", "日本語#frag", "'\"<>;"] {
        // prompt=consent: the page each time, though consent is remembered.
        let query = authorize_query(&client.id, "&prompt=consent")
            .replace("state=st-1", &format!("state={}", encode(state)));
        let params = approve(&alice, &query).await;
        assert_eq!(params["state"], state);
        let denied = alice.submit(&query, &query, &[("confirm", "no")]).await;
        assert_eq!(location_params(denied.location())["state"], state);
    }
}

async fn ac_05_denied_consent_is_access_denied_without_code(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Code app").await;
    let query = authorize_query(&client.id, "");

    let denied = alice.submit(&query, &query, &[("confirm", "no")]).await;

    assert_eq!(denied.status, 302);
    let params = location_params(denied.location());
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st-1");
    assert!(!params.contains_key("code") && !params.contains_key("access_token"));
}

async fn ac_06_codes_are_distinct_and_carry_128_bits(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Code app").await;
    let query = authorize_query(&client.id, "&prompt=consent");
    let mut seen = HashSet::new();
    for _ in 0..5 {
        let code = approve(&alice, &query).await["code"].clone();
        assert!(base64url_bits(&code) >= 128, "{code}");
        assert!(seen.insert(code));
    }
}

async fn ac_07_scope_beyond_registered_is_refused(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Code app").await;
    let wide = authorize_query(&client.id, "").replace("scope=profile", "scope=profile%20admin");

    let answer = alice.get(&wide).await;

    assert_eq!(answer.status, 302);
    let params = location_params(answer.location());
    assert_eq!(params["error"], "invalid_scope");
    assert!(!params.contains_key("code"));
    // Even a POST of the consent form grants nothing.
    let posted = alice
        .submit(
            &authorize_query(&client.id, ""),
            &wide,
            &[("confirm", "yes")],
        )
        .await;
    assert!(!location_params(posted.location()).contains_key("code"));
}

async fn ac_08_unregistered_response_type_is_unauthorized_client(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Code app").await;
    let implicit =
        authorize_query(&client.id, "").replace("response_type=code", "response_type=token");

    for answer in shown_and_consented(&alice, &authorize_query(&client.id, ""), &implicit).await {
        let params = location_params(answer.location());
        assert_eq!(params["error"], "unauthorized_client");
        assert!(!params.contains_key("access_token") && !params.contains_key("code"));
    }
}

async fn ac_09_anonymous_browser_goes_to_login_never_a_code(app: TestApp) {
    let (_, client) = signed_in_with_code_client(&app, "Code app").await;
    let query = authorize_query(&client.id, "");
    let anonymous = WebUser::new(&app);

    let shown = anonymous.get(&query).await;
    let token = anonymous.get("/login").await.csrf_token();
    let posted = anonymous
        .post(&query, &[("csrf_token", &token), ("confirm", "yes")])
        .await;

    for answer in [shown, posted] {
        assert_eq!(answer.status, 303);
        assert!(
            answer.location().starts_with("/login?next="),
            "{}",
            answer.location()
        );
    }
}

async fn ac_10_consent_only_by_post_never_by_get(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Code app").await;
    let query = authorize_query(&client.id, "");
    let token = alice.get(&query).await.csrf_token();

    for extra in ["&confirm=yes", &format!("&confirm=yes&csrf_token={token}")] {
        let by_get = alice.get(&format!("{query}{extra}")).await;
        assert_eq!(by_get.status, 200);
        assert!(by_get.location().is_empty());
    }
}

async fn ac_12_authorization_response_carries_iss(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Code app").await;
    let params = approve(&alice, &authorize_query(&client.id, "")).await;
    assert_eq!(params["iss"], app.address);
    let metadata = app.metadata().await;
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
}

async fn ac_13_codes_are_not_stored_in_clear(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let used = app.code(&client, &alice, None);
    app.redeem(&client, &used).await;
    let pending = app.code(&client, &alice, None);

    let found =
        crate::security_client_auth::find_in_database(&app, &[used.as_str(), pending.as_str()]);

    assert!(found.is_empty(), "{found:?}");
}

async fn a_code_is_redeemed_once_and_a_replay_revokes_its_tokens(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let code = app.code(&client, &alice, Some("profile"));

    let first = app.redeem(&client, &code).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.str("scope"), "profile");
    let access = first.str("access_token").to_owned();
    let refresh = first.str("refresh_token").to_owned();
    assert_eq!(app.me_status(&access).await, 200);

    let replay = app.redeem(&client, &code).await;
    replay.assert_error_for(400, "invalid_grant", "");
    assert_eq!(app.me_status(&access).await, 401);
    assert_eq!(
        app.refresh(&client, &refresh).await.error(),
        "invalid_grant"
    );
}

async fn a_code_is_bound_to_its_client(app: TestApp) {
    let (client, code, _) = redeemed_by_another_client(&app).await;

    assert_eq!(app.redeem(&client, &code).await.status, 200);
}

async fn redirect_uri_must_repeat_the_authorization_request(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let code = app.code(&client, &alice, None);
    let other_uri = format!("{REDIRECT_URI}/other");

    let different = app.redeem_with(&client, &code, &other_uri, VERIFIER).await;
    let omitted = app.redeem_omitting_redirect_uri(&client, &code).await;

    different.assert_error_for(400, "invalid_grant", "");
    omitted.assert_error_for(400, "invalid_grant", "");
}

async fn the_pkce_verifier_is_required_and_checked(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let code = app.code(&client, &alice, None);
    let form = |verifier: Option<&'static str>| {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        form
    };

    let missing = app.token(Some(&client), &form(None)).await;
    let short = app.token(Some(&client), &form(Some("abc"))).await;
    let wrong = app
        .token(
            Some(&client),
            &form(Some("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")),
        )
        .await;
    let challenge_as_verifier = app
        .token(
            Some(&client),
            &form(Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")),
        )
        .await;
    let right = app.token(Some(&client), &form(Some(VERIFIER))).await;

    missing.assert_error_for(400, "invalid_request", "");
    short.assert_error_for(400, "invalid_request", "");
    wrong.assert_error_for(400, "invalid_grant", "");
    challenge_as_verifier.assert_error_for(400, "invalid_grant", "");
    assert_eq!(right.status, 200);
}

async fn an_unknown_code_is_invalid_grant_and_a_missing_one_invalid_request(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    let unknown = app.redeem(&client, "no-such-code").await;
    let missing = app
        .token(
            Some(&client),
            &[
                ("grant_type", "authorization_code"),
                ("redirect_uri", REDIRECT_URI),
            ],
        )
        .await;

    unknown.assert_error_for(400, "invalid_grant", "");
    missing.assert_error_for(400, "invalid_request", "");
}

async fn a_public_client_redeems_with_its_id_and_verifier_and_gets_no_refresh_token(app: TestApp) {
    let alice = app.user("alice");
    let public = app.public_code_client(&alice);
    let code = app.code(&public, &alice, None);

    let answer = app.redeem_as_public(&public, &code, REDIRECT_URI).await;

    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(answer.body.get("refresh_token").is_none());
}

async fn ten_concurrent_redemptions_one_success(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let code = app.code(&client, &alice, None);
    let app = Arc::new(app);

    let attempts = (0..10).map(|_| {
        let (app, client, code) = (app.clone(), client.clone(), code.clone());
        tokio::spawn(async move { app.redeem(&client, &code).await.status })
    });
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        9,
        "{statuses:?}"
    );
}

/// A code issued `ttl` - 10 s ago is redeemed; one issued `ttl` + 1 s ago is
/// `invalid_grant` (RFC 6749 §4.1.2: codes are short-lived). Two codes of
/// the same age, since redeeming one uses it up.
async fn codes_expire_after(app: TestApp, ttl: Duration) {
    let (alice, client) = app.user_with_client("alice");
    let checked_early = app.code(&client, &alice, None);
    let checked_late = app.code(&client, &alice, None);

    app.advance(ttl - Duration::from_secs(10));
    let before = app.redeem(&client, &checked_early).await;
    app.advance(Duration::from_secs(11));
    let after = app.redeem(&client, &checked_late).await;

    assert_eq!(before.status, 200, "{:?}", before.body);
    after.assert_error_for(400, "invalid_grant", "");
}

both_backends!(settings = &["--code-ttl", "30"], ac_11_codes_expire);

/// A configured `CODE_TTL` is the lifetime.
async fn ac_11_codes_expire(app: TestApp) {
    codes_expire_after(app, Duration::from_secs(30)).await;
}

both_backends![an_expired_code_is_invalid_grant];

/// Without a setting, codes live 60 s.
async fn an_expired_code_is_invalid_grant(app: TestApp) {
    codes_expire_after(app, Duration::from_secs(60)).await;
}

#[test]
fn ac_11_code_ttl_defaults_to_60_s_and_is_capped_at_10_min() {
    use clap::Parser;
    let default = app::cli::Cli::try_parse_from(["oauth2-server"]).unwrap();
    assert_eq!(default.config.lifetimes.code.seconds(), 60);
    assert!(app::cli::Cli::try_parse_from(["oauth2-server", "--code-ttl", "600"]).is_ok());
    assert!(app::cli::Cli::try_parse_from(["oauth2-server", "--code-ttl", "601"]).is_err());
}
