//! Issue 11, items 10–14: replay revocation only by the code's holder,
//! Basic credentials decoded half by half, spoof-proof consent metadata,
//! vanished users and clients, and the authorization endpoint's redirects.

use crate::both_backends;
use crate::support::TestApp;
use crate::support::{REDIRECT_URI, VERIFIER};

both_backends![
    h11_spent_code_replayed_by_another_client_keeps_the_real_tokens,
    h11_spent_public_code_without_its_verifier_revokes_nothing
];

async fn h11_spent_code_replayed_by_another_client_keeps_the_real_tokens(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let (_, attacker) = app.user_with_client("mallory");
    let code = app.code(&client, &alice, None);
    let first = app.redeem(&client, &code).await;
    assert_eq!(first.status, 200, "{:?}", first.body);

    let replay = app.redeem(&attacker, &code).await;

    replay.assert_error(400, "invalid_grant");
    assert_eq!(app.me_status(first.str("access_token")).await, 200);
    let refreshed = app.refresh(&client, first.str("refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
}

async fn h11_spent_public_code_without_its_verifier_revokes_nothing(app: TestApp) {
    let alice = app.user("alice");
    let public = app.client(&alice, &["authorization_code"], "profile", "none");
    let code = app.code(&public, &alice, None);
    let redeem = |verifier: Option<&'static str>| {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", public.id.as_str()),
            ("redirect_uri", REDIRECT_URI),
        ];
        form.extend(verifier.map(|v| ("code_verifier", v)));
        let app = &app;
        async move { app.token(None, &form).await }
    };
    let first = redeem(Some(VERIFIER)).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let access = first.str("access_token").to_owned();

    let without = redeem(None).await;
    let wrong = redeem(Some("wrong-verifier-wrong-verifier-wrong-verifier")).await;

    assert_eq!(without.status, 400);
    wrong.assert_error(400, "invalid_grant");
    assert_eq!(
        app.me_status(&access).await,
        200,
        "no revocation without the verifier"
    );
    let replay = redeem(Some(VERIFIER)).await;
    replay.assert_error(400, "invalid_grant");
    assert_eq!(
        app.me_status(&access).await,
        401,
        "the holder's replay revokes"
    );
}

/// `Authorization: Basic` of `id:secret` exactly as given (no encoding).
fn raw_basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

both_backends![h14_a_raw_ampersand_does_not_cut_the_basic_secret_short];

async fn h14_a_raw_ampersand_does_not_cut_the_basic_secret_short(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let send = |authorization: String| {
        let app = &app;
        async move {
            crate::support::answer(
                app.http
                    .post(app.url("/oauth/token"))
                    .header("Authorization", authorization)
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };

    let right = send(raw_basic(&client.id, &client.secret)).await;
    assert_eq!(right.status, 200, "{:?}", right.body);
    for suffix in ["&", "&x=y", "&secret=", "&grant_type=password", "=", "%26"] {
        let longer = send(raw_basic(&client.id, &format!("{}{suffix}", client.secret))).await;
        longer.assert_error_for(401, "invalid_client", &format!("secret + {suffix:?}"));
    }
    for forged in [
        format!("{}&secret={}", client.id, client.secret),
        format!("x&id={}", client.id),
    ] {
        let answer = send(raw_basic(&forged, &client.secret)).await;
        answer.assert_error_for(401, "invalid_client", &format!("id {forged:?}"));
    }
}

both_backends![
    h13_spoofing_names_and_userinfo_client_uris_are_refused_on_the_form,
    h13_the_consent_page_isolates_the_client_name
];

async fn h13_spoofing_names_and_userinfo_client_uris_are_refused_on_the_form(app: TestApp) {
    use crate::support::web::{code_client_form, fields, WebUser};
    let alice = WebUser::signed_up(&app, "alice").await;
    let cases = [
        ("client_name", "Bank\u{202E}tnuocca ruoy"),
        ("client_name", "Pay\u{200B}Pal"),
        ("client_name", "App \u{2067}x\u{2069}"),
        ("client_uri", "https://your-bank.example@evil.example/"),
        ("client_uri", "https://user:pw@evil.example/"),
    ];
    for (field, value) in cases {
        let mut form = code_client_form("Fine name");
        for (name, v) in &mut form {
            if *name == field {
                *v = value.to_owned();
            }
        }
        let page = alice.submit_at("/create_client", &fields(&form)).await;
        assert_eq!(page.status, 400, "{field}={value:?}");
        assert!(
            page.body.contains(&format!("data-field=\"{field}\"")),
            "{field}={value:?}"
        );
    }
    let home = alice.get("/").await;
    assert!(
        !home.body.contains("data-client-id"),
        "nothing was registered"
    );
}

async fn h13_the_consent_page_isolates_the_client_name(app: TestApp) {
    use crate::support::web::{authorize_query, signed_in_with_code_client};
    let (alice, client) = signed_in_with_code_client(&app, "Photo Printer").await;

    let consent = alice.get(&authorize_query(&client.id, "")).await;

    assert_eq!(consent.status, 200, "{}", consent.body);
    consent.assert_body_contains(
        "<bdi id=\"client-name\">Photo Printer</bdi> wants to access your account",
    );
}

both_backends![h12_user_deleted_during_a_password_grant_is_invalid_grant_not_500];

async fn h12_user_deleted_during_a_password_grant_is_invalid_grant_not_500(app: TestApp) {
    use domain::ports::PasswordHasher;
    let (_, client) = app.user_with_client("owner");
    // A slow hash (bcrypt cost 12) widens the window between the user
    // lookup and the token insert, as a production cost does.
    let slow = adapters::system::BcryptHasher::new(12)
        .hash(crate::support::PASSWORD)
        .unwrap();
    let victim = domain::user::User {
        password_hash: slow,
        ..domain::testing::sample_user("victim", "unused")
    };
    let store = adapters::db::DieselStore::connect(&app.database_url, 1).unwrap();
    domain::ports::UserRepository::insert_user(&store, &victim).unwrap();

    let grant = app.token(
        Some(&client),
        &[
            ("grant_type", "password"),
            ("username", "victim"),
            ("password", crate::support::PASSWORD),
        ],
    );
    let delete = async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(app.services.delete_user(&victim.id).unwrap());
    };
    let (answer, ()) = tokio::join!(grant, delete);

    answer.assert_error(400, "invalid_grant");
}

/// An authorization request for `client_id` that lacks its PKCE challenge
/// (an error after the client and redirect URI are known).
fn without_pkce(client_id: &str) -> String {
    format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=profile&state=st-1",
        crate::support::web::encode(REDIRECT_URI)
    )
}

both_backends![
    h10_untrusted_client_error_for_an_anonymous_visitor_is_a_notice_not_a_redirect,
    h10_trusted_client_or_signed_in_user_keeps_the_error_redirect,
    h10_the_client_page_shows_whether_the_client_is_trusted
];

async fn h10_untrusted_client_error_for_an_anonymous_visitor_is_a_notice_not_a_redirect(
    app: TestApp,
) {
    let (_, client) = app.user_with_client("mallory");

    for query in [
        without_pkce(&client.id),
        without_pkce(&client.id).replace("response_type=code&", ""),
        format!("{}&scope=admin", without_pkce(&client.id)).replace("&scope=profile", ""),
    ] {
        let notice = crate::support::web::WebUser::new(&app).get(&query).await;

        assert_eq!(notice.status, 400, "{query}: {}", notice.body);
        assert_eq!(notice.location(), "", "{query}: no automatic redirect");
        assert_eq!(
            notice.element_text("redirect-host").as_deref(),
            Some("client.example.com")
        );
        let html = notice.body.replace("&#x2F;", "/").replace("&amp;", "&");
        assert!(
            html.contains("id=\"redirect-link\" href=\"https://client.example.com/cb?error="),
            "{html}"
        );
        assert!(html.contains("&state=st-1&"), "{html}");
    }
}

async fn h10_trusted_client_or_signed_in_user_keeps_the_error_redirect(app: TestApp) {
    use crate::support::web::{signed_in_with_code_client, WebUser};
    let (_, trusted) = app.user_with_client("operator");
    assert!(app.services.set_client_trusted(&trusted.id, true).unwrap());

    let anonymous = WebUser::new(&app).get(&without_pkce(&trusted.id)).await;
    assert_eq!(anonymous.status, 302, "{}", anonymous.body);
    assert!(anonymous
        .location()
        .starts_with("https://client.example.com/cb?error=invalid_request"));

    let (alice, untrusted) = signed_in_with_code_client(&app, "Alice's app").await;
    let signed_in = alice.get(&without_pkce(&untrusted.id)).await;
    assert_eq!(signed_in.status, 302, "{}", signed_in.body);
    assert!(signed_in
        .location()
        .starts_with("https://client.example.com/cb?error=invalid_request"));

    assert!(app.services.set_client_trusted(&trusted.id, false).unwrap());
    let untrusted_again = WebUser::new(&app).get(&without_pkce(&trusted.id)).await;
    assert_eq!(untrusted_again.status, 400);
}

async fn h10_the_client_page_shows_whether_the_client_is_trusted(app: TestApp) {
    use crate::support::web::signed_in_with_code_client;
    let (alice, client) = signed_in_with_code_client(&app, "Alice's app").await;
    let path = format!("/clients/{}", client.id);

    let before = alice.get(&path).await;
    before.assert_body_contains("id=\"client-trusted\" data-trusted=\"false\"");
    app.services.set_client_trusted(&client.id, true).unwrap();
    let after = alice.get(&path).await;
    after.assert_body_contains("id=\"client-trusted\" data-trusted=\"true\"");
}
