//! RP-Initiated Logout 1.0 at `/oauth/logout`, and the OpenID client
//! metadata on the pages (issue 13 items 8 and 9).

use crate::both_backends;
use crate::support::web::{authorize_query, code_client_form, encode, fields, Page, WebUser};
use crate::support::{TestApp, TestClient, POST_LOGOUT_REDIRECT_URI};

both_backends![
    the_client_page_shows_the_openid_metadata_and_the_discovery_url,
    bad_openid_metadata_gets_field_errors,
    without_a_hint_the_user_is_asked_and_no_keeps_the_session,
    a_confirmed_logout_ends_the_session_everywhere_and_echoes_state,
    a_confirmation_without_its_csrf_token_is_refused,
    an_unregistered_post_logout_redirect_is_an_error_page_not_a_redirect,
    a_garbage_or_unknown_hint_or_client_is_refused,
    a_visitor_not_signed_in_is_sent_on_or_told_they_are_signed_out,
    an_untrusted_clients_post_logout_uri_is_offered_as_a_link,
    a_relying_partys_post_is_answered_as_the_same_get,
    the_page_logout_still_works
];

/// A client of another user, with [`POST_LOGOUT_REDIRECT_URI`] registered.
fn rp_client(app: &TestApp) -> TestClient {
    let owner = app.user("rp-owner");
    app.client(
        &owner,
        &["authorization_code", "refresh_token"],
        "profile",
        "client_secret_basic",
    )
}

/// [`rp_client`], marked trusted by the operator: its post-logout
/// redirects are automatic (an untrusted client's are offered as a link).
fn trusted_rp_client(app: &TestApp) -> TestClient {
    let client = rp_client(app);
    assert!(app
        .services
        .set_client_trusted(client.id.as_str(), true)
        .unwrap());
    client
}

fn logout_query(client: &TestClient, uri: &str, state: &str) -> String {
    format!(
        "/oauth/logout?client_id={}&post_logout_redirect_uri={}&state={}",
        client.id,
        encode(uri),
        encode(state)
    )
}

/// The hidden fields and CSRF token of the confirmation form, plus `confirm`.
fn confirmation_answer(page: &Page, confirm: &'static str) -> Vec<(String, String)> {
    let mut answer = Vec::new();
    let form_at = page
        .body
        .find("id=\"logout-confirm\"")
        .expect("the confirmation form");
    let form_end = form_at + page.body[form_at..].find("</form>").unwrap();
    let mut rest = &page.body[form_at..form_end];
    let marker = "<input type=\"hidden\" name=\"";
    while let Some(at) = rest.find(marker) {
        rest = &rest[at + marker.len()..];
        let name_end = rest.find('"').unwrap();
        let name = rest[..name_end].to_owned();
        let value_at = rest.find("value=\"").unwrap() + "value=\"".len();
        let value_end = value_at + rest[value_at..].find('"').unwrap();
        answer.push((name, unescape(&rest[value_at..value_end])));
    }
    answer.push(("confirm".to_owned(), confirm.to_owned()));
    answer
}

/// Undoes tera's HTML escaping.
fn unescape(html: &str) -> String {
    html.replace("&#x2F;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn answer(user: &WebUser<'_>, page: &Page, confirm: &'static str) -> Page {
    let form = confirmation_answer(page, confirm);
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    user.post("/oauth/logout", &form).await
}

async fn the_client_page_shows_the_openid_metadata_and_the_discovery_url(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    let base = code_client_form("RP");
    let mut form = fields(&base);
    form.extend([
        (
            "post_logout_redirect_uri",
            "https://client.example.com/bye\nhttps://client.example.com/bye2",
        ),
        ("id_token_signed_response_alg", "ES256"),
        ("default_max_age", "600"),
        ("require_auth_time", "yes"),
    ]);

    let (id, _) = alice.create_client(&form).await;
    let page = alice.get(&format!("/clients/{id}")).await;

    assert_eq!(
        page.element_text("discovery-url").map(|t| unescape(&t)),
        Some(format!("{}/.well-known/openid-configuration", app.address))
    );
    let config = unescape(&page.element_text("rp-config").unwrap());
    for line in [
        format!("OIDC_ISSUER={}", app.address),
        format!("OIDC_CLIENT_ID={id}"),
        format!("OIDC_REDIRECT_URI={}", crate::support::REDIRECT_URI),
        "OIDC_SCOPES=openid profile email".to_owned(),
        "OIDC_ID_TOKEN_SIGNING_ALG=ES256".to_owned(),
    ] {
        assert!(config.contains(&line), "{line} in {config}");
    }
    assert_eq!(page.element_text("id-token-alg").as_deref(), Some("ES256"));
    assert_eq!(
        page.element_text("default-max-age").as_deref(),
        Some("600 seconds")
    );
    assert_eq!(
        page.element_text("require-auth-time").as_deref(),
        Some("yes")
    );
    assert!(unescape(&page.body).contains("https://client.example.com/bye2"));
    let stored = app.stored_client(&id).metadata;
    assert_eq!(stored.post_logout_redirect_uris.len(), 2);
    assert_eq!(stored.default_max_age.map(|a| a.seconds()), Some(600));
    assert!(stored.require_auth_time);
}

async fn bad_openid_metadata_gets_field_errors(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    for (field, value, shown_on) in [
        (
            "id_token_signed_response_alg",
            "HS256",
            "id_token_signed_response_alg",
        ),
        (
            "id_token_signed_response_alg",
            "none",
            "id_token_signed_response_alg",
        ),
        ("default_max_age", "0", "default_max_age"),
        ("default_max_age", "soon", "default_max_age"),
        (
            "post_logout_redirect_uri",
            "http://evil.example/bye",
            "post_logout_redirect_uri",
        ),
        (
            "post_logout_redirect_uri",
            "javascript:alert(1)//",
            "post_logout_redirect_uri",
        ),
    ] {
        let base = code_client_form("RP");
        let mut form = fields(&base);
        form.push((field, value));
        let refused = alice.submit_at("/create_client", &form).await;
        assert_eq!(refused.status, 400, "{field}={value}");
        refused.assert_body_contains(&format!("data-field=\"{shown_on}\""));
    }
    assert!(
        app.services.clients().unwrap().is_empty(),
        "nothing registered"
    );
}

async fn without_a_hint_the_user_is_asked_and_no_keeps_the_session(app: TestApp) {
    let client = trusted_rp_client(&app);
    let alice = WebUser::signed_up(&app, "alice").await;

    let asked = alice
        .get(&logout_query(&client, POST_LOGOUT_REDIRECT_URI, "st-1"))
        .await;

    assert_eq!(asked.status, 200, "{}", asked.body);
    asked.assert_body_contains("id=\"logout-confirm\"");
    asked.assert_body_contains("name=\"confirm\" value=\"yes\"");
    assert!(alice.is_logged_in().await, "a link alone logs nobody out");

    let declined = answer(&alice, &asked, "no").await;

    assert_eq!(declined.status, 303, "{}", declined.body);
    assert_eq!(
        declined.location(),
        format!("{POST_LOGOUT_REDIRECT_URI}?state=st-1")
    );
    assert!(alice.is_logged_in().await, "no keeps the session");
}

async fn a_confirmed_logout_ends_the_session_everywhere_and_echoes_state(app: TestApp) {
    let client = trusted_rp_client(&app);
    let alice = WebUser::signed_up(&app, "alice").await;
    let copied_cookie = alice.cookies();
    let asked = alice
        .get(&logout_query(&client, POST_LOGOUT_REDIRECT_URI, "a b&c"))
        .await;

    let confirmed = answer(&alice, &asked, "yes").await;

    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    assert_eq!(
        confirmed.location(),
        format!("{POST_LOGOUT_REDIRECT_URI}?state=a+b%26c")
    );
    assert!(!alice.is_logged_in().await);
    // The row is gone: a copy of the cookie (another tab, another instance
    // behind the same database) is signed out too.
    assert!(!app.cookie_is_logged_in(&copied_cookie).await);
    let authorize = alice.get(&authorize_query(&client.id, "")).await;
    authorize.assert_location_starts_with("/login");
}

async fn a_confirmation_without_its_csrf_token_is_refused(app: TestApp) {
    let client = rp_client(&app);
    let alice = WebUser::signed_up(&app, "alice").await;
    let asked = alice
        .get(&logout_query(&client, POST_LOGOUT_REDIRECT_URI, "s"))
        .await;
    let mut form = confirmation_answer(&asked, "yes");
    form.retain(|(n, _)| n != "csrf_token");
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();

    let refused = alice.post("/oauth/logout", &form).await;
    let forged = {
        let mut with_wrong: Vec<(&str, &str)> = form.clone();
        with_wrong.push(("csrf_token", "forged"));
        alice.post("/oauth/logout", &with_wrong).await
    };

    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(refused.location().is_empty());
    assert!(alice.is_logged_in().await);
}

async fn an_unregistered_post_logout_redirect_is_an_error_page_not_a_redirect(app: TestApp) {
    let client = rp_client(&app);
    let alice = WebUser::signed_up(&app, "alice").await;
    for uri in [
        "https://evil.example/",
        crate::support::REDIRECT_URI,
        "https://client.example.com/signed-out/",
    ] {
        let refused = alice.get(&logout_query(&client, uri, "s")).await;
        assert_eq!(refused.status, 400, "{uri}");
        assert!(refused.location().is_empty(), "{uri}");
        refused.assert_body_contains("not registered");
    }
    let without_client = alice
        .get(&format!(
            "/oauth/logout?post_logout_redirect_uri={}",
            encode(POST_LOGOUT_REDIRECT_URI)
        ))
        .await;
    assert_eq!(without_client.status, 400);
    assert!(without_client.location().is_empty());
    assert!(alice.is_logged_in().await);
}

async fn a_garbage_or_unknown_hint_or_client_is_refused(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    for query in [
        "id_token_hint=garbage",
        "id_token_hint=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        "client_id=no-such-client",
        "state=a&state=b",
    ] {
        let refused = alice.get(&format!("/oauth/logout?{query}")).await;
        assert_eq!(refused.status, 400, "{query}: {}", refused.body);
        assert!(refused.location().is_empty());
    }
    assert!(alice.is_logged_in().await);
}

async fn a_visitor_not_signed_in_is_sent_on_or_told_they_are_signed_out(app: TestApp) {
    let client = trusted_rp_client(&app);
    let visitor = WebUser::new(&app);

    let sent_on = visitor
        .get(&logout_query(&client, POST_LOGOUT_REDIRECT_URI, "x"))
        .await;
    let told = visitor
        .get(&format!("/oauth/logout?client_id={}", client.id))
        .await;

    assert_eq!(sent_on.status, 303);
    assert_eq!(
        sent_on.location(),
        format!("{POST_LOGOUT_REDIRECT_URI}?state=x")
    );
    assert_eq!(told.status, 200);
    assert!(told.element_text("signed-out").is_some(), "{}", told.body);
}

/// RFC 9700 §4.11.2: anyone may register a client, so an untrusted
/// client's post-logout URI, for a request not tied to the session by its
/// `id_token_hint`, is a link on the page, never an automatic redirect.
async fn an_untrusted_clients_post_logout_uri_is_offered_as_a_link(app: TestApp) {
    let client = rp_client(&app);
    let visitor = WebUser::new(&app);
    let alice = WebUser::signed_up(&app, "alice").await;

    let anonymous = visitor
        .get(&logout_query(&client, POST_LOGOUT_REDIRECT_URI, "x"))
        .await;
    let asked = alice
        .get(&logout_query(&client, POST_LOGOUT_REDIRECT_URI, "y"))
        .await;
    let confirmed = answer(&alice, &asked, "yes").await;

    for page in [&anonymous, &confirmed] {
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.location().is_empty(), "no redirect");
        assert!(page.element_text("continue").is_some(), "{}", page.body);
        assert!(page.element_text("signed-out").is_some(), "{}", page.body);
    }
    assert!(!alice.is_logged_in().await);
}

async fn a_relying_partys_post_is_answered_as_the_same_get(app: TestApp) {
    let client = rp_client(&app);
    let alice = WebUser::signed_up(&app, "alice").await;

    let posted = alice
        .post(
            "/oauth/logout",
            &[
                ("client_id", client.id.as_str()),
                ("post_logout_redirect_uri", POST_LOGOUT_REDIRECT_URI),
                ("state", "p"),
            ],
        )
        .await;

    assert_eq!(posted.status, 303);
    assert_eq!(
        posted.location(),
        logout_query(&client, POST_LOGOUT_REDIRECT_URI, "p")
    );
    assert!(alice.is_logged_in().await);
}

async fn the_page_logout_still_works(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;

    let out = alice.submit("/", "/logout", &[]).await;

    assert_eq!(out.status, 303);
    assert!(!alice.is_logged_in().await);
}

crate::both_backends_in_browser![the_confirmation_page_in_a_browser];

/// The confirmation page in Chromium: "Stay signed in" keeps the session,
/// "Sign out" ends it and shows "You are signed out".
async fn the_confirmation_page_in_a_browser(
    app: TestApp,
    browser: &crate::support::browser::Browser,
) {
    let client = rp_client(&app);
    browser.goto(&app.url("/signup")).await;
    browser.wait_for("#signup").await;
    browser.fill("#username", "alice").await;
    browser.fill("#password", crate::support::PASSWORD).await;
    browser.click("#signup-submit").await;
    browser.wait_for("#logged-in-as").await;
    let logout = app.url(&format!("/oauth/logout?client_id={}", client.id));

    browser.goto(&logout).await;
    browser.wait_for("#logout-confirm").await;
    assert_eq!(browser.text("#client-name").await, "Test app");
    browser.click("#stay-signed-in").await;
    browser.wait_for("#logged-in-as").await;

    browser.goto(&logout).await;
    browser.wait_for("#logout-confirm").await;
    browser.click("#sign-out").await;
    browser.wait_for("#signed-out").await;
    browser.goto(&app.url("/")).await;
    assert!(!browser.exists("#logged-in-as").await);
}
