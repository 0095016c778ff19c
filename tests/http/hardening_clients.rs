//! Issue 11.5 and 11.19 over HTTP: per-account quotas and metadata size
//! limits on the registration page and at consent, and the registration
//! form's two ways of posting grant and response types.

use crate::both_backends;
use crate::support::web::{authorize_query, code_client_form, fields, WebUser};
use crate::support::TestApp;
use crate::support::{location_params, REDIRECT_URI};

/// A registration by the seed's field names, one value per line.
fn seed_form<'a>(name: &'a str, redirect_uris: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("client_name", name),
        ("client_uri", "https://client.example.com"),
        ("scope", "profile"),
        ("redirect_uri", redirect_uris),
        ("grant_type", "authorization_code\nrefresh_token"),
        ("response_type", "code"),
        ("token_endpoint_auth_method", "client_secret_basic"),
    ]
}

both_backends![
    the_51st_client_of_an_owner_is_refused_with_a_message,
    twenty_one_redirect_uris_are_refused_next_to_the_field,
    oversize_metadata_values_are_refused_each_on_its_field,
    the_11th_pending_code_of_a_user_for_a_client_is_refused,
    the_seed_post_with_newline_separated_values_still_registers,
    the_form_posts_one_field_per_checked_box
];

async fn the_51st_client_of_an_owner_is_refused_with_a_message(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    let owner = app.services.find_user_by_name("alice").unwrap().unwrap();
    for _ in 0..49 {
        app.client(
            &owner,
            &["client_credentials"],
            "profile",
            "client_secret_basic",
        );
    }
    alice
        .create_client(&fields(&code_client_form("Fiftieth")))
        .await;

    let refused = alice
        .submit_at("/create_client", &fields(&code_client_form("Fifty-first")))
        .await;

    assert_eq!(refused.status, 400);
    refused.assert_body_contains("data-field=\"quota\"");
    assert!(refused
        .body
        .contains("You have reached the limit of 50 clients"));
    assert!(
        refused.body.contains("value=\"Fifty-first\""),
        "the values are kept"
    );
    assert_eq!(app.services.clients_of(&owner.id).unwrap().len(), 50);
    // Another account is not affected.
    let bob = WebUser::signed_up(&app, "bob").await;
    bob.create_client(&fields(&code_client_form("Bob's"))).await;
}

async fn twenty_one_redirect_uris_are_refused_next_to_the_field(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    let uris = |n: usize| {
        (0..n)
            .map(|i| format!("https://client.example.com/cb{i}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let twenty = uris(20);
    let twenty_one = uris(21);

    let refused = alice
        .submit_at("/create_client", &seed_form("Many", &twenty_one))
        .await;
    alice.create_client(&seed_form("Enough", &twenty)).await;

    assert_eq!(refused.status, 400);
    refused.assert_body_contains("<p class=\"field-error\" data-field=\"redirect_uri\">at most 20 redirect URIs per client</p>");
}

async fn oversize_metadata_values_are_refused_each_on_its_field(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    let long_name = "n".repeat(101);
    let long_uri = format!("https://client.example.com/{}", "u".repeat(2000));
    let long_scope = "profile ".repeat(130);
    let form = vec![
        ("client_name", long_name.as_str()),
        ("client_uri", long_uri.as_str()),
        ("scope", long_scope.as_str()),
        ("redirect_uri", long_uri.as_str()),
        ("grant_type", "authorization_code"),
        ("response_type", "code"),
        ("token_endpoint_auth_method", "client_secret_basic"),
    ];

    let refused = alice.submit_at("/create_client", &form).await;

    assert_eq!(refused.status, 400, "{}", refused.body);
    for field in ["client_name", "client_uri", "scope", "redirect_uri"] {
        assert!(
            refused.body.contains(&format!("data-field=\"{field}\">")),
            "{field}: {}",
            refused.body
        );
    }
    assert!(refused.body.contains("must be at most 100 characters"));
    assert!(refused
        .body
        .contains("each redirect URI must be at most 2000 bytes"));
    assert!(!alice.get("/").await.body.contains("client-link"));
}

async fn the_11th_pending_code_of_a_user_for_a_client_is_refused(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    let (id, secret) = alice
        .create_client(&fields(&code_client_form("Codes")))
        .await;
    let client = crate::support::TestClient {
        id: id.clone(),
        secret: secret.unwrap(),
    };
    let query = authorize_query(&id, "");
    let token = alice.get(&query).await.csrf_token();
    let approval = [("csrf_token", token.as_str()), ("confirm", "yes")];
    let approve = || alice.post(&query, &approval);
    let mut codes = Vec::new();
    for _ in 0..10 {
        let approved = approve().await;
        assert_eq!(approved.status, 302);
        codes.push(location_params(approved.location())["code"].clone());
    }

    let eleventh = approve().await;

    assert_eq!(eleventh.status, 302);
    eleventh.assert_location_starts_with(&format!("{REDIRECT_URI}?error=temporarily_unavailable"));
    let params = location_params(eleventh.location());
    assert_eq!(params["state"], "st-1");
    assert_eq!(params["iss"], app.address);
    assert!(!params.contains_key("code"));
    // A redeemed code is no longer pending: there is room for one more.
    assert_eq!(app.redeem(&client, &codes[0]).await.status, 200);
    let after = approve().await;
    assert!(
        location_params(after.location()).contains_key("code"),
        "{}",
        after.location()
    );
}

async fn the_seed_post_with_newline_separated_values_still_registers(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;

    let (id, _) = alice
        .create_client(&seed_form("Seed style", REDIRECT_URI))
        .await;

    let page = alice.get(&format!("/clients/{id}")).await;
    page.assert_body_contains("authorization_code");
    assert!(page.body.contains("refresh_token"));
}

async fn the_form_posts_one_field_per_checked_box(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    let form = alice.get("/create_client").await;
    for (kind, value) in [
        ("checkbox", "authorization_code"),
        ("checkbox", "client_credentials"),
        ("radio", "machine"),
    ] {
        assert!(
            form.body.contains(&format!(
                "type=\"{kind}\" name=\"{}\"",
                if kind == "radio" {
                    "application_type"
                } else {
                    "grant_type"
                }
            )),
            "{kind}"
        );
        assert!(form.body.contains(&format!("value=\"{value}\"")), "{value}");
    }
    assert!(form
        .body
        .contains("<script src=\"/static/create_client.js\""));

    let (id, _) = alice
        .create_client(&[
            ("client_name", "Checkboxes"),
            ("scope", "profile"),
            ("redirect_uri", REDIRECT_URI),
            ("application_type", "web"),
            ("grant_type", "authorization_code"),
            ("grant_type", "password"),
            ("grant_type", "refresh_token"),
            ("response_type", "code"),
            ("token_endpoint_auth_method", "client_secret_post"),
        ])
        .await;

    let grants = app.stored_grants(&id);
    assert_eq!(grants, ["authorization_code", "password", "refresh_token"]);
    let script = app.get("/static/create_client.js").await;
    assert_eq!(script.status(), 200);
    assert!(crate::support::content_type(&script).starts_with("text/javascript"));
}

both_backends!(
    settings = &[
        "--max-clients-per-owner",
        "2",
        "--max-redirect-uris-per-client",
        "1",
        "--max-pending-codes-per-grant",
        "1"
    ],
    the_operator_sets_the_quotas
);

async fn the_operator_sets_the_quotas(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    let two = format!("{REDIRECT_URI}\nhttps://client.example.com/other");

    let too_many_uris = alice
        .submit_at("/create_client", &seed_form("Two URIs", &two))
        .await;
    let (id, _) = alice.create_client(&seed_form("First", REDIRECT_URI)).await;
    alice
        .create_client(&seed_form("Second", REDIRECT_URI))
        .await;
    let third = alice
        .submit_at("/create_client", &seed_form("Third", REDIRECT_URI))
        .await;

    too_many_uris.assert_body_contains("at most 1 redirect URIs per client");
    third.assert_body_contains("You have reached the limit of 2 clients");
    let query = authorize_query(&id, "");
    let token = alice.get(&query).await.csrf_token();
    let first = alice
        .post(
            &query,
            &[("csrf_token", token.as_str()), ("confirm", "yes")],
        )
        .await;
    let second = alice
        .post(
            &query,
            &[("csrf_token", token.as_str()), ("confirm", "yes")],
        )
        .await;
    assert!(location_params(first.location()).contains_key("code"));
    assert_eq!(
        location_params(second.location())["error"],
        "temporarily_unavailable"
    );
}
