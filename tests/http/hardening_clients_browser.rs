//! Issue 11.19 in headless Chromium: the application type fills the grant
//! types, response types and auth method consistently; the boxes stay
//! adjustable; the client registers with what the form showed.

use crate::both_backends_in_browser;
use crate::support::browser::Browser;
use crate::support::{TestApp, PASSWORD, REDIRECT_URI};

const GRANTS: [&str; 5] = [
    "authorization_code",
    "implicit",
    "password",
    "client_credentials",
    "refresh_token",
];

/// The grant types, response types and auth method the form shows.
async fn shown(browser: &Browser) -> (Vec<&'static str>, Vec<&'static str>, String) {
    let mut grants = Vec::new();
    for grant in GRANTS {
        if browser.is_checked(&format!("#grant_type_{grant}")).await {
            grants.push(grant);
        }
    }
    let mut responses = Vec::new();
    for response in ["code", "token"] {
        if browser
            .is_checked(&format!("#response_type_{response}"))
            .await
        {
            responses.push(response);
        }
    }
    (
        grants,
        responses,
        browser.value("#token_endpoint_auth_method").await,
    )
}

async fn sign_up(app: &TestApp, browser: &Browser) {
    browser.goto(&app.url("/signup")).await;
    browser.wait_for("#signup").await;
    browser.fill("#username", "alice").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("#signup-submit").await;
    browser.wait_for("#logged-in-as").await;
}

both_backends_in_browser![
    each_application_type_fills_consistent_settings_that_register,
    settings_stay_adjustable_and_errors_show_next_to_their_field
];

async fn each_application_type_fills_consistent_settings_that_register(
    app: TestApp,
    browser: &Browser,
) {
    sign_up(&app, browser).await;
    let expected = [
        (
            "web",
            vec!["authorization_code", "refresh_token"],
            vec!["code"],
            "client_secret_basic",
        ),
        (
            "machine",
            vec!["client_credentials"],
            vec![],
            "client_secret_basic",
        ),
        (
            "spa",
            vec!["authorization_code", "refresh_token"],
            vec!["code"],
            "none",
        ),
    ];

    browser.goto(&app.url("/create_client")).await;
    browser.wait_for("#create-client-form").await;
    assert!(
        browser.is_checked("#application_type_web").await,
        "a web application is the default"
    );
    assert_eq!(
        shown(browser).await,
        (
            expected[0].1.clone(),
            expected[0].2.clone(),
            expected[0].3.to_owned()
        )
    );
    for (app_type, grants, responses, method) in &expected {
        browser
            .click(&format!("#application_type_{app_type}"))
            .await;
        assert_eq!(
            shown(browser).await,
            (grants.clone(), responses.clone(), (*method).to_owned()),
            "{app_type}"
        );
    }

    for (app_type, grants, _, method) in &expected {
        browser.goto(&app.url("/create_client")).await;
        browser.wait_for("#create-client-form").await;
        browser
            .fill("#client_name", &format!("A {app_type} app"))
            .await;
        browser.fill("#scope", "profile").await;
        browser.fill("#redirect_uri", REDIRECT_URI).await;
        browser
            .click(&format!("#application_type_{app_type}"))
            .await;
        browser.click("#create-client-submit").await;
        browser.wait_for("#client_id").await;
        let id = browser.text("#client_id").await;
        let page = browser.text("body").await;
        for grant in grants {
            assert!(
                page.contains(grant),
                "{app_type}: {grant} on the client page"
            );
        }
        let stored = app.stored_client(&id);
        let stored_grants = app.stored_grants(&id);
        assert_eq!(&stored_grants, grants, "{app_type}");
        assert_eq!(
            stored.metadata.token_endpoint_auth_method.as_str(),
            *method,
            "{app_type}"
        );
    }
}

async fn settings_stay_adjustable_and_errors_show_next_to_their_field(
    app: TestApp,
    browser: &Browser,
) {
    sign_up(&app, browser).await;
    browser.goto(&app.url("/create_client")).await;
    browser.wait_for("#create-client-form").await;
    browser.fill("#client_name", "Adjusted").await;
    browser.fill("#scope", "profile").await;
    browser.click("#application_type_machine").await;
    // Machine-to-machine, then a refresh token that cannot go with it.
    browser.set_checked("#grant_type_refresh_token", true).await;
    browser.click("#create-client-submit").await;
    browser.wait_for("#form-error").await;

    assert!(browser.exists("p.field-error[data-field=grant_type]").await);
    assert!(browser
        .text("p.field-error[data-field=grant_type]")
        .await
        .contains("refresh_token needs"));
    assert!(
        browser.is_checked("#grant_type_client_credentials").await,
        "the choices are kept"
    );
    assert!(browser.is_checked("#grant_type_refresh_token").await);
    assert!(browser.is_checked("#application_type_machine").await);

    browser
        .set_checked("#grant_type_refresh_token", false)
        .await;
    browser.set_checked("#grant_type_password", true).await;
    browser.click("#create-client-submit").await;
    browser.wait_for("#client_id").await;
    let id = browser.text("#client_id").await;
    let grants = app.stored_grants(&id);
    assert_eq!(grants, ["password", "client_credentials"]);
}

both_backends_in_browser!(
    settings = &["--disable-grant", "implicit", "--disable-grant", "password"],
    disabled_grants_have_no_box
);

async fn disabled_grants_have_no_box(app: TestApp, browser: &Browser) {
    sign_up(&app, browser).await;
    browser.goto(&app.url("/create_client")).await;
    browser.wait_for("#create-client-form").await;

    assert!(!browser.exists("#grant_type_implicit").await);
    assert!(!browser.exists("#grant_type_password").await);
    assert!(!browser.exists("#response_type_token").await);
    assert!(browser.exists("#grant_type_client_credentials").await);
}
