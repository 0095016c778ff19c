//! SECURITY.md §9, the browser side (WB-01 … WB-17), over HTTP with a
//! cookie-keeping client (what a browser would hide is visible here).

use crate::both_backends;
use crate::support::web::{
    authorize_query, code_client_form, encode, fields, signed_in_with_code_client, Page, WebUser,
    LOGGED_IN_MARKER,
};
use crate::support::{TestApp, PASSWORD};

fn assert_not_frameable(page: &Page, what: &str) {
    assert_eq!(page.header("x-frame-options"), "DENY", "{what}");
    assert!(
        page.header("content-security-policy")
            .contains("frame-ancestors 'none'"),
        "{what}"
    );
}

/// A POST with a cross-site `Origin` (and `Sec-Fetch-Site`), keeping the
/// visitor's cookies.
async fn cross_site_post(
    user: &WebUser<'_>,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> u16 {
    crate::support::status_of(
        user.http
            .post(app.url(path))
            .header("Origin", "https://evil.example")
            .header("Sec-Fetch-Site", "cross-site")
            .form(form),
    )
    .await
}

both_backends![
    wb_01_consent_post_needs_the_csrf_token_and_same_origin,
    wb_02_consent_page_is_not_frameable,
    wb_03_every_html_page_is_not_frameable,
    wb_04_authorization_pages_send_no_referrer,
    wb_05_consent_page_is_not_cached,
    wb_06_nosniff_everywhere,
    wb_07_client_metadata_is_escaped,
    wb_08_requested_scope_is_escaped_or_refused,
    wb_09_error_pages_escape_reflected_parameters,
    wb_10_cross_site_login_does_not_log_in,
    wb_11_every_state_changing_form_needs_csrf,
    wb_12_session_cookie_flags,
    wb_14_session_is_renewed_at_login,
    wb_15_logout_ends_the_session_server_side,
    wb_16_tampered_session_cookie_is_rejected,
    wb_17_consent_is_asked_again_for_a_wider_scope
];

async fn wb_01_consent_post_needs_the_csrf_token_and_same_origin(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Browser app").await;
    let query = authorize_query(&client.id, "");
    let token = alice.get(&query).await.csrf_token();

    let no_token = alice.post(&query, &[("confirm", "yes")]).await;
    let forged = alice
        .post(&query, &[("csrf_token", "forged"), ("confirm", "yes")])
        .await;
    let cross_site_no_token = cross_site_post(&alice, &app, &query, &[("confirm", "yes")]).await;
    let cross_site_with_token = cross_site_post(
        &alice,
        &app,
        &query,
        &[("csrf_token", &token), ("confirm", "yes")],
    )
    .await;
    // Another user's valid token does not work in alice's session.
    let mallory = WebUser::signed_up(&app, "mallory").await;
    let mallory_token = mallory.get(&query).await.csrf_token();
    let swapped = alice
        .post(
            &query,
            &[("csrf_token", &mallory_token), ("confirm", "yes")],
        )
        .await;

    for page in [&no_token, &forged, &swapped] {
        assert_eq!(page.status, 403);
        assert!(page.location().is_empty());
    }
    assert_eq!(cross_site_no_token, 403);
    assert_eq!(cross_site_with_token, 403);
}

async fn wb_02_consent_page_is_not_frameable(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Browser app").await;
    let consent = alice.get(&authorize_query(&client.id, "")).await;
    assert_eq!(consent.status, 200);
    assert_not_frameable(&consent, "consent");
}

async fn wb_03_every_html_page_is_not_frameable(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Browser app").await;
    let anonymous = WebUser::new(&app);
    for path in ["/login", "/signup", "/"] {
        assert_not_frameable(&anonymous.get(path).await, path);
    }
    for path in [
        "/".to_owned(),
        "/create_client".to_owned(),
        "/account/apps".to_owned(),
        format!("/clients/{}", client.id),
    ] {
        assert_not_frameable(&alice.get(&path).await, &path);
    }
    let error = alice.get("/oauth/authorize?client_id=nope").await;
    assert_not_frameable(&error, "error page");
}

async fn wb_04_authorization_pages_send_no_referrer(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Browser app").await;
    for path in [
        authorize_query(&client.id, ""),
        "/login".to_owned(),
        "/oauth/authorize?client_id=nope".to_owned(),
    ] {
        let page = alice.get(&path).await;
        assert_eq!(page.header("referrer-policy"), "no-referrer", "{path}");
    }
}

async fn wb_05_consent_page_is_not_cached(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Browser app").await;
    let consent = alice.get(&authorize_query(&client.id, "")).await;
    assert_eq!(consent.header("cache-control"), "no-store");
    let approved = alice
        .submit(
            &authorize_query(&client.id, ""),
            &authorize_query(&client.id, ""),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(approved.header("cache-control"), "no-store");
}

async fn wb_06_nosniff_everywhere(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Browser app").await;
    for path in [
        "/".to_owned(),
        "/login".to_owned(),
        authorize_query(&client.id, ""),
        "/oauth/authorize?client_id=nope".to_owned(),
    ] {
        assert_eq!(
            alice.get(&path).await.header("x-content-type-options"),
            "nosniff",
            "{path}"
        );
    }
    let api = app.me(None).await;
    assert_eq!(api.header("x-content-type-options"), "nosniff");
}

async fn wb_07_client_metadata_is_escaped(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    let mut form = code_client_form("");
    form[0].1 = "<script>alert('name')</script>".to_owned();
    form[1].1 = "https://client.example.com/\"><script>alert('uri')</script>".to_owned();
    let created = alice.submit_at("/create_client", &fields(&form)).await;
    let id = if created.status == 303 {
        alice
            .get(created.location())
            .await
            .element_text("client_id")
            .unwrap()
    } else {
        // A client_uri that is refused: register with the name only.
        form[1].1 = "https://client.example.com".to_owned();
        alice.create_client(&fields(&form)).await.0
    };
    for path in [
        "/".to_owned(),
        format!("/clients/{id}"),
        authorize_query(&id, ""),
        "/account/apps".to_owned(),
    ] {
        let page = alice.get(&path).await;
        assert!(!page.body.contains("<script>alert"), "{path}");
    }
}

async fn wb_08_requested_scope_is_escaped_or_refused(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Browser app").await;
    let query = authorize_query(&client.id, "").replace(
        "scope=profile",
        &format!("scope={}", encode("profile <svg/onload=alert(1)>")),
    );

    let page = alice.get(&query).await;

    assert!(!page.body.contains("<svg/onload"), "{}", page.status);
    assert!(!page.location().contains("<svg"), "{}", page.location());
}

async fn wb_09_error_pages_escape_reflected_parameters(app: TestApp) {
    let (alice, _) = signed_in_with_code_client(&app, "Browser app").await;
    for query in [
        format!(
            "/oauth/authorize?response_type=code&client_id={}",
            encode("<script>alert(1)</script>")
        ),
        format!(
            "/oauth/authorize?response_type=code&client_id=x&redirect_uri={}",
            encode("https://e.example/\"><script>alert(1)</script>")
        ),
        format!("/login?next={}", encode("\"><script>alert(1)</script>")),
        format!("/clients/{}", encode("<script>alert(1)</script>")),
    ] {
        let page = alice.get(&query).await;
        assert!(!page.body.contains("<script>alert(1)"), "{query}");
        assert!(page.status < 500, "{query}");
    }
}

async fn wb_10_cross_site_login_does_not_log_in(app: TestApp) {
    app.user("alice");
    let visitor = WebUser::new(&app);
    let token = visitor.get("/login").await.csrf_token();

    let without_token = cross_site_post(
        &visitor,
        &app,
        "/login",
        &[("username", "alice"), ("password", PASSWORD)],
    )
    .await;
    let with_token = cross_site_post(
        &visitor,
        &app,
        "/login",
        &[
            ("csrf_token", &token),
            ("username", "alice"),
            ("password", PASSWORD),
        ],
    )
    .await;
    let same_site_no_token = visitor
        .post("/login", &[("username", "alice"), ("password", PASSWORD)])
        .await;

    assert_eq!(without_token, 403);
    assert_eq!(with_token, 403);
    assert_eq!(same_site_no_token.status, 403);
    assert!(!visitor.is_logged_in().await);
}

async fn wb_11_every_state_changing_form_needs_csrf(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Browser app").await;
    let form = code_client_form("Forged");
    let home_before = alice.get("/").await.body.matches("client-link").count();

    let create = alice.post("/create_client", &fields(&form)).await;
    let create_cross = cross_site_post(&alice, &app, "/create_client", &fields(&form)).await;
    let rotate = alice
        .post(&format!("/clients/{}/rotate_secret", client.id), &[])
        .await;
    let delete = alice
        .post(&format!("/clients/{}/delete", client.id), &[])
        .await;
    let revoke = alice
        .post(&format!("/account/apps/{}/revoke", client.id), &[])
        .await;
    let logout = alice.post("/logout", &[]).await;

    for (what, status) in [
        ("create", create.status),
        ("create cross-site", create_cross),
        ("rotate", rotate.status),
        ("delete", delete.status),
        ("revoke", revoke.status),
        ("logout", logout.status),
    ] {
        assert_eq!(status, 403, "{what}");
    }
    assert_eq!(
        alice.get("/").await.body.matches("client-link").count(),
        home_before
    );
    assert!(alice.is_logged_in().await);
    assert_eq!(
        alice.get(&format!("/clients/{}", client.id)).await.status,
        200
    );
    let client_ok = app
        .token(
            Some(&client),
            &[("grant_type", "refresh_token"), ("refresh_token", "x")],
        )
        .await;
    assert_eq!(
        client_ok.error(),
        "invalid_grant",
        "the old secret still works: no rotation happened"
    );
}

async fn wb_12_session_cookie_flags(app: TestApp) {
    let visitor = WebUser::new(&app);
    let signed_up = visitor.try_sign_up("alice", PASSWORD).await;
    let cookie = signed_up.set_cookie("session");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(
        cookie.contains("SameSite=Lax") || cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(cookie.contains("Path=/"), "{cookie}");
    let logged_in = WebUser::new(&app).log_in("alice", PASSWORD).await;
    let cookie = logged_in.set_cookie("session");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    // The device cookie (brute-force limits) is no weaker.
    let device = logged_in.set_cookie("device");
    assert!(
        device.contains("HttpOnly")
            && device.contains("SameSite=Strict")
            && device.contains("Path=/"),
        "{device}"
    );
}

async fn wb_14_session_is_renewed_at_login(app: TestApp) {
    app.user("alice");
    let victim = WebUser::new(&app);
    victim.get("/login").await;
    let planted = victim.cookies();

    victim.log_in("alice", PASSWORD).await;

    assert!(victim.is_logged_in().await);
    assert_ne!(victim.cookies(), planted);
    assert!(!app.cookie_is_logged_in(&planted).await, "session fixation");
}

async fn wb_15_logout_ends_the_session_server_side(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    let copied = alice.cookies();

    let token = alice.get("/").await.csrf_token();
    assert_eq!(
        alice
            .post("/logout", &[("csrf_token", &token)])
            .await
            .status,
        303
    );

    assert!(!app.cookie_is_logged_in(&copied).await);
}

async fn wb_16_tampered_session_cookie_is_rejected(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    // The session cookie only (an anonymous CSRF cookie may sit beside it).
    let cookies = alice.cookies();
    let cookie = cookies
        .split("; ")
        .find(|c| c.starts_with("session="))
        .expect("a session cookie")
        .to_owned();
    let (name, value) = cookie.split_once('=').unwrap();
    let mut bytes = value.as_bytes().to_vec();
    let n = bytes.len();
    for i in [n - 2, n - 3, n / 2] {
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    }
    let tampered = format!("{name}={}", String::from_utf8(bytes).unwrap());

    let home = app.home_with_cookie(&tampered).await;

    assert!(home.status < 500);
    assert!(!home.body.contains(LOGGED_IN_MARKER));
}

async fn wb_17_consent_is_asked_again_for_a_wider_scope(app: TestApp) {
    let (alice, client) = signed_in_with_code_client(&app, "Browser app").await;
    let narrow = authorize_query(&client.id, "");
    alice.submit_at(&narrow, &[("confirm", "yes")]).await;
    let wide = narrow.replace("scope=profile", "scope=profile%20email");

    let again = alice.get(&wide).await;
    let same_again = alice.get(&narrow).await;

    // The remembered consent covers the approved scope only (OpenID
    // Connect Core §3.1.2.4): a wider request shows the page again.
    assert_eq!(again.status, 200);
    assert!(again.body.contains("data-scope=\"email\""));
    assert_eq!(same_again.status, 302);
    same_again.assert_location_starts_with(&format!("{}?code=", crate::support::REDIRECT_URI));
}

both_backends!(
    settings = crate::support::web::HTTPS_ISSUER,
    wb_13_https_issuer_cookie_is_secure_and_host_prefixed
);

async fn wb_13_https_issuer_cookie_is_secure_and_host_prefixed(app: TestApp) {
    let visitor = WebUser::new(&app);

    let page = visitor.get("/login").await;

    let cookie = page.header("set-cookie");
    assert!(cookie.starts_with("__Host-"), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain="),
        "{cookie}"
    );
}
