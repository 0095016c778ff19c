//! The authorization endpoint and consent page over HTTP (RFC 6749 §4.1,
//! §4.2; RFC 9207), and connected apps.

use crate::both_backends;
use crate::support::web::{
    authorize_query, encode, implicit_authorize_query, signed_in_with_code_client, WebUser,
    SPA_CLIENT_FORM,
};
use crate::support::TestApp;
use crate::support::{location_params, REDIRECT_URI};

both_backends![
    approve_issues_a_code_with_state_and_iss,
    deny_redirects_access_denied_without_a_code,
    anonymous_users_go_to_login_and_come_back,
    invalid_client_or_redirect_uri_is_an_error_page_never_a_redirect,
    other_errors_redirect_with_error_state_and_iss,
    consent_needs_a_post_with_the_csrf_token,
    implicit_flow_returns_the_token_in_the_fragment,
    connected_apps_lists_grants_and_revoke_ends_access
];

async fn approve_issues_a_code_with_state_and_iss(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Consent app").await;
    let query = authorize_query(&client.id, "");

    let consent = alice.get(&query).await;
    assert_eq!(consent.status, 200);
    assert_eq!(consent.header("cache-control"), "no-store");
    assert_eq!(consent.header("x-frame-options"), "DENY");
    assert!(consent.body.contains("data-scope=\"profile\""));
    let approved = alice
        .post(
            &query,
            &[("csrf_token", &consent.csrf_token()), ("confirm", "yes")],
        )
        .await;

    assert_eq!(approved.status, 302);
    assert!(approved
        .location()
        .starts_with(&format!("{REDIRECT_URI}?code=")));
    let params = location_params(approved.location());
    assert_eq!(params["state"], "st-1");
    assert_eq!(params["iss"], app.address);
    assert_eq!(app.redeem(&client, &params["code"]).await.status, 200);
}

async fn deny_redirects_access_denied_without_a_code(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Consent app").await;
    let query = authorize_query(&client.id, "");

    let denied = alice.submit_at(&query, &[("confirm", "no")]).await;

    let params = location_params(denied.location());
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st-1");
    assert!(!params.contains_key("code"));
}

async fn anonymous_users_go_to_login_and_come_back(app: TestApp) {
    let (_, client) = signed_in_with_code_client(&app, "Consent app").await;
    let query = authorize_query(&client.id, "");
    let visitor = WebUser::new(&app);

    let first = visitor.get(&query).await;
    assert_eq!(first.status, 303);
    assert_eq!(first.location(), format!("/login?next={}", encode(&query)));
    let login = visitor
        .submit(
            first.location(),
            first.location(),
            &[
                ("username", "alice"),
                ("password", crate::support::PASSWORD),
            ],
        )
        .await;

    assert_eq!(login.location(), query);
    assert_eq!(visitor.get(login.location()).await.status, 200);
}

async fn invalid_client_or_redirect_uri_is_an_error_page_never_a_redirect(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Consent app").await;
    let bad = [
        "/oauth/authorize?response_type=code&client_id=no-such-client&redirect_uri=https%3A%2F%2Fevil.example%2Fcb".to_owned(),
        authorize_query("<script>x</script>", ""),
        format!("/oauth/authorize?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb", client.id),
        format!("/oauth/authorize?response_type=code&client_id={}&redirect_uri={}%2F", client.id, encode(REDIRECT_URI)),
    ];
    for query in bad {
        let page = alice.get(&query).await;
        assert_eq!(page.status, 400, "{query}");
        assert!(page.location().is_empty(), "{query}");
        assert!(!page.body.contains("<script>x"), "{query}");
    }
}

async fn other_errors_redirect_with_error_state_and_iss(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Consent app").await;
    let no_pkce = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&state=s1",
        client.id,
        encode(REDIRECT_URI)
    );
    let plain = format!("{no_pkce}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=plain");
    let bogus_type =
        authorize_query(&client.id, "").replace("response_type=code", "response_type=bogus");
    let implicit =
        authorize_query(&client.id, "").replace("response_type=code", "response_type=token");
    let wide = authorize_query(&client.id, "&scope=admin").replace("scope=profile&", "");

    for (query, error) in [
        (no_pkce, "invalid_request"),
        (plain, "invalid_request"),
        (bogus_type, "unsupported_response_type"),
        (implicit, "unauthorized_client"),
        (wide, "invalid_scope"),
    ] {
        let answer = alice.get(&query).await;
        assert_eq!(answer.status, 302, "{query}");
        let params = location_params(answer.location());
        assert_eq!(params["error"], error, "{query}");
        assert!(
            params.contains_key("state") && params["iss"] == app.address,
            "{query}"
        );
        assert!(!params.contains_key("code"));
    }
}

async fn consent_needs_a_post_with_the_csrf_token(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Consent app").await;
    let query = authorize_query(&client.id, "");
    let token = alice.get(&query).await.csrf_token();

    let by_get = alice.get(&format!("{query}&confirm=yes")).await;
    let without_token = alice.post(&query, &[("confirm", "yes")]).await;
    let cross_site = alice
        .http
        .post(app.url(&query))
        .header("Origin", "https://evil.example")
        .form(&[("csrf_token", token.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();

    assert_eq!(by_get.status, 200, "a GET only shows the consent page");
    assert_eq!(without_token.status, 403);
    assert_eq!(cross_site.status().as_u16(), 403);
}

async fn implicit_flow_returns_the_token_in_the_fragment(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    let (id, secret) = alice.create_client(SPA_CLIENT_FORM).await;
    assert!(secret.is_none());
    let query = implicit_authorize_query(&id);

    let approved = alice.submit_at(&query, &[("confirm", "yes")]).await;

    let location = approved.location();
    assert!(
        location.starts_with(&format!("{REDIRECT_URI}#access_token=")),
        "{location}"
    );
    let params = location_params(location);
    assert_eq!(params["token_type"], "Bearer");
    assert_eq!(params["state"], "imp");
    assert!(!params.contains_key("refresh_token"));
    assert_eq!(app.me_status(&params["access_token"]).await, 200);
}

async fn connected_apps_lists_grants_and_revoke_ends_access(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Consent app").await;
    let query = authorize_query(&client.id, "");
    let approved = alice.submit_at(&query, &[("confirm", "yes")]).await;
    let code = location_params(approved.location())["code"].clone();
    let tokens = app.redeem(&client, &code).await;
    let access = tokens.str("access_token").to_owned();

    let apps = alice.get("/account/apps").await;
    assert!(apps
        .body
        .contains(&format!("data-client-id=\"{}\"", client.id)));
    assert!(apps.body.contains("Consent app"));
    let revoked = alice
        .post(
            &format!("/account/apps/{}/revoke", client.id),
            &[("csrf_token", &apps.csrf_token())],
        )
        .await;

    assert_eq!(revoked.status, 303);
    assert_eq!(app.me_status(&access).await, 401);
    assert_eq!(
        app.refresh(&client, tokens.str("refresh_token"))
            .await
            .error(),
        "invalid_grant"
    );
    assert!(!alice
        .get("/account/apps")
        .await
        .body
        .contains(&format!("data-client-id=\"{}\"", client.id)));
}
