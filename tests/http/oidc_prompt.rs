//! The OpenID Connect authorization request through the real pages
//! (Core §3.1.2.1–§3.1.2.6): `prompt`, `max_age`, `login_hint`,
//! `id_token_hint`, refused request objects, ignored parameters, and the
//! remembered consent with its revocation on the connected-apps page.

use std::time::Duration;

use crate::both_backends;
use crate::support::web::{authorize_query, encode, signed_in_with_code_client, Page, WebUser};
use crate::support::{location_params, TestApp, TestClient, PASSWORD, REDIRECT_URI};

both_backends![
    prompt_none_without_a_session_is_login_required,
    prompt_none_with_a_session_needs_a_remembered_consent,
    remembered_consent_skips_the_page_for_the_same_or_fewer_scopes,
    prompt_consent_shows_the_page_even_when_remembered,
    prompt_login_asks_for_the_password_once_then_proceeds,
    max_age_asks_for_the_password_when_the_login_is_older,
    login_hint_fills_in_the_user_name,
    an_invalid_id_token_hint_is_invalid_request,
    request_objects_are_refused,
    optional_and_unknown_parameters_do_not_fail,
    revoking_on_the_apps_page_forgets_the_consent
];

/// The error a redirect to the client carries, with `state` and `iss`.
#[track_caller]
fn client_error(app: &TestApp, answer: &Page) -> String {
    assert_eq!(answer.status, 302, "{}", answer.body);
    assert!(
        answer.location().starts_with(REDIRECT_URI),
        "{}",
        answer.location()
    );
    let params = location_params(answer.location());
    assert_eq!(params["state"], "st-1");
    assert_eq!(params["iss"], app.address);
    assert!(!params.contains_key("code"));
    params["error"].clone()
}

/// alice approves `query` on the consent page; the code is redeemed.
async fn approve(app: &TestApp, alice: &WebUser<'_>, client: &TestClient, query: &str) {
    let approved = alice.submit_at(query, &[("confirm", "yes")]).await;
    let params = location_params(approved.location());
    assert_eq!(app.redeem(client, &params["code"]).await.status, 200);
}

/// A code straight away, without a page; redeemable.
#[track_caller]
fn code_of(answer: &Page) -> String {
    assert_eq!(answer.status, 302, "{}", answer.body);
    answer.assert_location_starts_with(&format!("{REDIRECT_URI}?code="));
    location_params(answer.location())["code"].clone()
}

async fn prompt_none_without_a_session_is_login_required(app: TestApp) {
    let (_, client) = signed_in_with_code_client(&app, "Silent app").await;
    let query = authorize_query(&client.id, "&prompt=none");
    let visitor = WebUser::new(&app);

    // An untrusted client: the open-redirector interstitial, no login page.
    let untrusted = visitor.get(&query).await;
    assert_eq!(untrusted.status, 400);
    assert_eq!(
        untrusted.element_text("error-code").as_deref(),
        Some("login_required")
    );
    assert!(!untrusted.body.contains("name=\"password\""));
    // A trusted one: straight back to the client.
    app.services.set_client_trusted(&client.id, true).unwrap();
    assert_eq!(
        client_error(&app, &visitor.get(&query).await),
        "login_required"
    );
}

async fn prompt_none_with_a_session_needs_a_remembered_consent(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Silent app").await;
    let silent = authorize_query(&client.id, "&prompt=none");

    assert_eq!(
        client_error(&app, &alice.get(&silent).await),
        "consent_required"
    );

    approve(&app, &alice, &client, &authorize_query(&client.id, "")).await;
    let code = code_of(&alice.get(&silent).await);

    assert_eq!(app.redeem(&client, &code).await.status, 200);
}

async fn remembered_consent_skips_the_page_for_the_same_or_fewer_scopes(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Consent app").await;
    let both = authorize_query(&client.id, "").replace("scope=profile", "scope=profile+email");
    approve(&app, &alice, &client, &both).await;

    code_of(&alice.get(&both).await);
    code_of(&alice.get(&authorize_query(&client.id, "")).await);

    // Another user has approved nothing.
    let bob = WebUser::signed_up(&app, "bob").await;
    assert_eq!(bob.get(&both).await.status, 200);
}

async fn prompt_consent_shows_the_page_even_when_remembered(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Consent app").await;
    approve(&app, &alice, &client, &authorize_query(&client.id, "")).await;

    let forced = alice
        .get(&authorize_query(&client.id, "&prompt=consent"))
        .await;

    assert_eq!(forced.status, 200);
    assert!(forced.body.contains("data-scope=\"profile\""));
}

async fn prompt_login_asks_for_the_password_once_then_proceeds(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Consent app").await;
    approve(&app, &alice, &client, &authorize_query(&client.id, "")).await;
    let query = authorize_query(&client.id, "&prompt=login");

    let first = alice.get(&query).await;
    assert_eq!(first.status, 303);
    assert!(
        first
            .location()
            .starts_with(&format!("/login?next={}", encode(&query))),
        "{}",
        first.location()
    );
    // The login page is shown although alice is signed in, her name in it.
    let login = alice.get(first.location()).await;
    assert_eq!(login.status, 200);
    login.assert_body_contains("name=\"password\"");
    login.assert_body_contains("value=\"alice\"");
    let wrong = alice
        .submit(
            first.location(),
            first.location(),
            &[("username", "alice"), ("password", "nope")],
        )
        .await;
    assert_eq!(wrong.status, 200, "a wrong password does not pass");
    assert_eq!(alice.get(&query).await.status, 303, "still asks");

    let logged_in = alice
        .submit(
            first.location(),
            first.location(),
            &[("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(logged_in.location(), query);

    // Back at the request: no second login page (no loop), a code.
    let code = code_of(&alice.get(&query).await);
    assert_eq!(app.redeem(&client, &code).await.status, 200);
    // The fresh login served that request only: the next one asks again.
    assert_eq!(alice.get(&query).await.status, 303);
}

async fn max_age_asks_for_the_password_when_the_login_is_older(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Consent app").await;
    approve(&app, &alice, &client, &authorize_query(&client.id, "")).await;
    app.advance(Duration::from_secs(120));
    let strict = authorize_query(&client.id, "&max_age=60");

    let again = alice.get(&strict).await;
    assert_eq!(again.status, 303);
    again.assert_location_starts_with("/login?next=");
    code_of(
        &alice
            .get(&authorize_query(&client.id, "&max_age=3600"))
            .await,
    );
    assert_eq!(
        client_error(
            &app,
            &alice
                .get(&authorize_query(&client.id, "&max_age=60&prompt=none"))
                .await
        ),
        "login_required"
    );
    assert_eq!(
        client_error(
            &app,
            &alice
                .get(&authorize_query(&client.id, "&max_age=soon"))
                .await
        ),
        "invalid_request"
    );

    let logged_in = alice
        .submit(
            again.location(),
            again.location(),
            &[("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(logged_in.location(), strict);
    code_of(&alice.get(&strict).await);
    // The new login is recent enough for max_age=60 now, by itself.
    code_of(
        &alice
            .get(&authorize_query(&client.id, "&max_age=60&prompt=none"))
            .await,
    );
}

async fn login_hint_fills_in_the_user_name(app: TestApp) {
    let (_, client) = signed_in_with_code_client(&app, "Consent app").await;
    let visitor = WebUser::new(&app);

    let first = visitor
        .get(&authorize_query(
            &client.id,
            "&login_hint=alice%40example.com",
        ))
        .await;

    assert_eq!(first.status, 303);
    let login = visitor.get(first.location()).await;
    assert_eq!(login.status, 200);
    login.assert_body_contains("value=\"alice@example.com\"");
}

async fn an_invalid_id_token_hint_is_invalid_request(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Consent app").await;
    approve(&app, &alice, &client, &authorize_query(&client.id, "")).await;
    // A well-formed JWS signed by nobody we know.
    let forged = "eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJpc3MiOiJ4Iiwic3ViIjoieSJ9.c2ln";

    for hint in [forged, "not-a-token"] {
        let answer = alice
            .get(&authorize_query(
                &client.id,
                &format!("&prompt=none&id_token_hint={hint}"),
            ))
            .await;
        assert_eq!(client_error(&app, &answer), "invalid_request", "{hint}");
    }
}

async fn request_objects_are_refused(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Consent app").await;

    let request = alice
        .get(&authorize_query(
            &client.id,
            "&request=eyJhbGciOiJub25lIn0.e30.",
        ))
        .await;
    let request_uri = alice
        .get(&authorize_query(
            &client.id,
            "&request_uri=https%3A%2F%2Fclient.example.com%2Freq",
        ))
        .await;

    assert_eq!(client_error(&app, &request), "request_not_supported");
    assert_eq!(
        client_error(&app, &request_uri),
        "request_uri_not_supported"
    );
}

async fn optional_and_unknown_parameters_do_not_fail(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Consent app").await;
    let query = authorize_query(
        &client.id,
        "&display=popup&ui_locales=fr-CA+en&claims_locales=de&acr_values=urn%3Aexample%3Asilver&frobnicate=1",
    );

    let page = alice.get(&query).await;

    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("data-scope=\"profile\""));
    let twice = alice
        .get(&authorize_query(&client.id, "&display=page&display=popup"))
        .await;
    assert_eq!(client_error(&app, &twice), "invalid_request");
}

async fn revoking_on_the_apps_page_forgets_the_consent(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Consent app").await;
    let silent = authorize_query(&client.id, "&prompt=none");
    approve(&app, &alice, &client, &authorize_query(&client.id, "")).await;
    // An unused code from a silent approval, to be deleted by the revocation.
    let pending = code_of(&alice.get(&silent).await);

    let apps = alice.get("/account/apps").await;
    apps.assert_body_contains(&format!("data-client-id=\"{}\"", client.id));
    apps.assert_body_contains("Consent app");
    apps.assert_body_contains("data-scope=\"profile\"");
    apps.assert_body_contains("consent-remembered");
    let revoked = alice
        .post(
            &format!("/account/apps/{}/revoke", client.id),
            &[("csrf_token", &apps.csrf_token())],
        )
        .await;
    assert_eq!(revoked.status, 303);

    assert_eq!(
        client_error(&app, &alice.get(&silent).await),
        "consent_required"
    );
    assert_eq!(app.redeem(&client, &pending).await.status, 400);
    assert!(!alice
        .get("/account/apps")
        .await
        .body
        .contains(&format!("data-client-id=\"{}\"", client.id)));
}
