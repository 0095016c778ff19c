//! SECURITY.md §2, the authorization code (AC-01 … AC-13).

use std::collections::HashSet;

use crate::both_backends;
use crate::support::web::{authorize_query, encode, signed_in_with_code_client, WebUser};
use crate::support::TestApp;
use crate::support::{base64url_bits, location_params};

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
    ac_13_codes_are_not_stored_in_clear
];

async fn ac_01_code_is_single_use(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let code = app.code(&client, &alice, None);

    assert_eq!(app.redeem(&client, &code).await.status, 200);
    let second = app.redeem(&client, &code).await;

    assert_eq!((second.status, second.error()), (400, "invalid_grant"));
}

async fn ac_02_code_replay_revokes_issued_tokens(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let code = app.code(&client, &alice, None);
    let first = app.redeem(&client, &code).await;
    assert_eq!(app.me_status(first.str("access_token")).await, 200);

    app.redeem(&client, &code).await;

    assert_eq!(app.me_status(first.str("access_token")).await, 401);
    let refreshed = app.refresh(&client, first.str("refresh_token")).await;
    assert_eq!(
        (refreshed.status, refreshed.error()),
        (400, "invalid_grant")
    );
}

async fn ac_03_code_is_bound_to_its_client(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let other = app.full_client(&alice);
    let code = app.code(&client, &alice, None);

    let stolen = app.redeem(&other, &code).await;

    assert_eq!((stolen.status, stolen.error()), (400, "invalid_grant"));
    assert!(stolen.body.get("access_token").is_none());
}

async fn ac_04_state_is_returned_byte_exact(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Code app").await;
    for state in ["st-é &=/?x", "a+b%20c", "日本語#frag", "'\"<>;"] {
        let query = authorize_query(&client.id, "")
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
    let query = authorize_query(&client.id, "");
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
    let token = alice
        .get(&authorize_query(&client.id, ""))
        .await
        .csrf_token();
    let posted = alice
        .post(&wide, &[("csrf_token", &token), ("confirm", "yes")])
        .await;
    assert!(!location_params(posted.location()).contains_key("code"));
}

async fn ac_08_unregistered_response_type_is_unauthorized_client(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Code app").await;
    let implicit =
        authorize_query(&client.id, "").replace("response_type=code", "response_type=token");

    let shown = alice.get(&implicit).await;
    let token = alice
        .get(&authorize_query(&client.id, ""))
        .await
        .csrf_token();
    let posted = alice
        .post(&implicit, &[("csrf_token", &token), ("confirm", "yes")])
        .await;

    for answer in [shown, posted] {
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
    let metadata = app
        .http
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    let metadata: serde_json::Value = metadata.json().await.unwrap();
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
}

async fn ac_13_codes_are_not_stored_in_clear(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let used = app.code(&client, &alice, None);
    app.redeem(&client, &used).await;
    let pending = app.code(&client, &alice, None);

    let found =
        crate::security_client_auth::find_in_database(&app, &[used.as_str(), pending.as_str()]);

    assert!(found.is_empty(), "{found:?}");
}

both_backends!(settings = &["--code-ttl", "60"], ac_11_codes_expire);

async fn ac_11_codes_expire(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let young = app.code(&client, &alice, None);
    let old = app.code(&client, &alice, None);

    app.advance(std::time::Duration::from_secs(50));
    let before = app.redeem(&client, &young).await;
    app.advance(std::time::Duration::from_secs(11));
    let after = app.redeem(&client, &old).await;

    assert_eq!(before.status, 200, "{:?}", before.body);
    assert_eq!((after.status, after.error()), (400, "invalid_grant"));
}

#[test]
fn ac_11_code_ttl_defaults_to_60_s_and_is_capped_at_10_min() {
    use clap::Parser;
    let default = app::cli::Cli::try_parse_from(["oauth2-server"]).unwrap();
    assert_eq!(default.config.code_ttl, 60);
    assert!(app::cli::Cli::try_parse_from(["oauth2-server", "--code-ttl", "600"]).is_ok());
    assert!(app::cli::Cli::try_parse_from(["oauth2-server", "--code-ttl", "601"]).is_err());
}
