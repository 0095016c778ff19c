//! The pages in a real headless Chromium: sign-up, client registration, the
//! consent page (approve, deny, implicit), the client page (rotate, delete)
//! and connected apps, with the `oauth2` crate redeeming the code.
//!
//! Screenshots of each page (1280×800) go to `target/screenshots/`, or to
//! `docs/screenshots/` with `UPDATE_SCREENSHOTS=1`; SQLite cases only, so
//! that two cases never write one file.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, RedirectUrl,
    Scope, TokenResponse, TokenUrl,
};

use crate::both_backends_in_browser;
use crate::support::browser::Browser;
use crate::support::{location_params, Backend, TestApp, PASSWORD, REDIRECT_URI};

async fn shot(app: &TestApp, browser: &Browser, name: &str) {
    if app.backend != Backend::Sqlite {
        return;
    }
    let folder = if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        "../docs/screenshots"
    } else {
        "../target/screenshots"
    };
    let path = format!("{}/{folder}/{name}.png", env!("CARGO_MANIFEST_DIR"));
    browser.screenshot(path).await;
}

async fn sign_up(app: &TestApp, browser: &Browser, name: &str) {
    browser.goto(&app.url("/signup")).await;
    browser.wait_for("#signup").await;
    browser.fill("#username", name).await;
    browser.fill("#password", PASSWORD).await;
    shot(app, browser, "signup").await;
    browser.click("#signup-submit").await;
    browser.wait_for("#logged-in-as").await;
}

/// Fills and submits the registration form: the text `fields`, then the
/// application type, then the grant and response type boxes and the auth
/// method as given; returns (client_id, secret).
pub(crate) async fn register(
    app: &TestApp,
    browser: &Browser,
    fields: &[(&str, &str)],
    application_type: &str,
    settings: (&[&str], &[&str], &str),
) -> (String, Option<String>) {
    let (grants, responses, auth_method) = settings;
    browser.goto(&app.url("/create_client")).await;
    browser.wait_for("#create-client-form").await;
    for (field, value) in fields {
        browser.fill(&format!("#{field}"), value).await;
    }
    browser
        .click(&format!("#application_type_{application_type}"))
        .await;
    for grant in [
        "authorization_code",
        "implicit",
        "password",
        "client_credentials",
        "refresh_token",
    ] {
        let css = format!("#grant_type_{grant}");
        if browser.exists(&css).await {
            browser.set_checked(&css, grants.contains(&grant)).await;
        }
    }
    for response in ["code", "token"] {
        let css = format!("#response_type_{response}");
        if browser.exists(&css).await {
            browser
                .set_checked(&css, responses.contains(&response))
                .await;
        }
    }
    browser
        .click(&format!(
            "#token_endpoint_auth_method option[value={auth_method}]"
        ))
        .await;
    if application_type == "web" {
        // The top of the form, where the application type is chosen.
        browser
            .client()
            .execute("window.scrollTo(0, 0)", vec![])
            .await
            .unwrap();
        shot(app, browser, "create_client").await;
    }
    browser.click("#create-client-submit").await;
    browser.wait_for("#client_id").await;
    let id = browser.text("#client_id").await;
    let secret = if browser.exists("#client_secret").await {
        Some(browser.text("#client_secret").await)
    } else {
        None
    };
    (id, secret)
}

async fn register_code_client(app: &TestApp, browser: &Browser) -> (String, String) {
    let (id, secret) = register(
        app,
        browser,
        &[
            ("client_name", "Photo Printer"),
            ("client_uri", "https://client.example.com"),
            ("scope", "profile email"),
            ("redirect_uri", REDIRECT_URI),
        ],
        "web",
        (
            &["authorization_code", "refresh_token"],
            &["code"],
            "client_secret_basic",
        ),
    )
    .await;
    (id, secret.expect("a confidential client gets a secret"))
}

both_backends_in_browser![
    sign_up_register_approve_and_redeem_with_the_oauth2_crate,
    deny_returns_access_denied,
    implicit_flow_puts_the_token_in_the_fragment,
    rotate_then_delete_a_client,
    revoking_a_connected_app_ends_its_access
];

async fn sign_up_register_approve_and_redeem_with_the_oauth2_crate(
    app: TestApp,
    browser: &Browser,
) {
    sign_up(&app, browser, "alice").await;
    let (client_id, secret) = register_code_client(&app, browser).await;
    shot(&app, browser, "client").await;
    assert!(browser
        .text("#secret-notice")
        .await
        .contains("shown only once"));

    let oauth = BasicClient::new(ClientId::new(client_id.clone()))
        .set_client_secret(ClientSecret::new(secret.clone()))
        .set_auth_uri(AuthUrl::new(app.url("/oauth/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(app.url("/oauth/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = oauth
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge)
        .url();

    browser.goto(url.as_str()).await;
    browser.wait_for("#consent").await;
    assert_eq!(browser.text("#client-name").await, "Photo Printer");
    assert!(browser.exists("li[data-scope=profile]").await);
    shot(&app, browser, "consent").await;
    browser.click("#approve").await;
    let redirect = browser.wait_for_url_prefix(REDIRECT_URI).await;
    let params = location_params(redirect.as_str());
    assert_eq!(&params["state"], state.secret());
    assert_eq!(params["iss"], app.address);

    let tokens = oauth
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .set_pkce_verifier(verifier)
        .request_async(&app.http)
        .await
        .unwrap();
    let me = app
        .me(Some(&format!("Bearer {}", tokens.access_token().secret())))
        .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["username"], "alice");

    browser.goto(&app.url("/")).await;
    browser.wait_for(".client-link").await;
    assert_eq!(browser.text(".client-link").await, "Photo Printer");
    shot(&app, browser, "home").await;
    browser.goto(&app.url("/account/apps")).await;
    browser
        .wait_for(&format!("tr.app[data-client-id='{client_id}']"))
        .await;
    shot(&app, browser, "connected_apps").await;
}

async fn deny_returns_access_denied(app: TestApp, browser: &Browser) {
    sign_up(&app, browser, "alice").await;
    let (client_id, _) = register_code_client(&app, browser).await;
    let challenge = domain::pkce::CodeChallenge::s256_of(crate::support::VERIFIER);
    let url = app.url(&format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&state=d1&code_challenge={challenge}&code_challenge_method=S256",
        crate::support::web::encode(REDIRECT_URI)
    ));

    browser.goto(&url).await;
    browser.wait_for("#deny").await;
    browser.click("#deny").await;

    let params = location_params(browser.wait_for_url_prefix(REDIRECT_URI).await.as_str());
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "d1");
    assert!(!params.contains_key("code"));
}

async fn implicit_flow_puts_the_token_in_the_fragment(app: TestApp, browser: &Browser) {
    sign_up(&app, browser, "alice").await;
    let (client_id, secret) = register(
        &app,
        browser,
        &[
            ("client_name", "Single Page"),
            ("scope", "profile"),
            ("redirect_uri", REDIRECT_URI),
        ],
        "spa",
        (&["implicit"], &["token"], "none"),
    )
    .await;
    assert!(secret.is_none());

    browser
        .goto(&app.url(&format!(
            "/oauth/authorize?response_type=token&client_id={client_id}&redirect_uri={}&state=i1",
            crate::support::web::encode(REDIRECT_URI)
        )))
        .await;
    browser.wait_for("#approve").await;
    browser.click("#approve").await;

    let url = browser.wait_for_url_prefix(REDIRECT_URI).await;
    assert!(url.query().is_none(), "no token in the query: {url}");
    let params = location_params(url.as_str());
    assert_eq!(params["state"], "i1");
    assert!(!params.contains_key("refresh_token"));
    assert_eq!(app.me_status(&params["access_token"]).await, 200);
}

async fn rotate_then_delete_a_client(app: TestApp, browser: &Browser) {
    sign_up(&app, browser, "alice").await;
    let (client_id, old_secret) = register(
        &app,
        browser,
        &[("client_name", "Batch Job"), ("scope", "profile")],
        "machine",
        (&["client_credentials"], &[], "client_secret_basic"),
    )
    .await;
    let old = crate::support::TestClient {
        id: client_id.clone(),
        secret: old_secret.unwrap(),
    };
    browser
        .goto(&app.url(&format!("/clients/{client_id}")))
        .await;
    assert!(
        !browser.exists("#client_secret").await,
        "the secret is not shown again"
    );

    browser.click("#rotate-secret-submit").await;
    browser.wait_for("#client_secret").await;
    let new = crate::support::TestClient {
        id: client_id.clone(),
        secret: browser.text("#client_secret").await,
    };
    assert_ne!(new.secret, old.secret);
    assert_eq!(app.client_credentials(&old).await.status, 401);
    let token = app.client_credentials(&new).await;
    assert_eq!(token.status, 200);

    browser.click("#delete-client-submit").await;
    browser.wait_for("#flash").await;
    assert!(!browser.exists(".client-link").await);
    assert_eq!(app.client_credentials(&new).await.status, 401);
    let introspected = app.client_credentials(&new).await;
    assert_eq!(introspected.error(), "invalid_client");
}

async fn revoking_a_connected_app_ends_its_access(app: TestApp, browser: &Browser) {
    sign_up(&app, browser, "alice").await;
    let (client_id, secret) = register_code_client(&app, browser).await;
    let client = crate::support::TestClient {
        id: client_id.clone(),
        secret,
    };
    let alice = app.services.find_user_by_name("alice").unwrap().unwrap();
    let code = app.code(&client, &alice, None);
    let tokens = app.redeem(&client, &code).await;
    assert_eq!(app.me_status(tokens.str("access_token")).await, 200);

    browser.goto(&app.url("/account/apps")).await;
    let row = format!("tr.app[data-client-id='{client_id}']");
    browser.wait_for(&row).await;
    browser.click(&format!("{row} button.revoke")).await;
    browser.wait_for("#flash").await;

    assert!(!browser.exists(&row).await);
    assert_eq!(app.me_status(tokens.str("access_token")).await, 401);
    assert_eq!(
        app.refresh(&client, tokens.str("refresh_token"))
            .await
            .error(),
        "invalid_grant"
    );
}
