//! The server as an OpenID Provider, driven by a real relying party: the
//! `openidconnect` crate, configured from the issuer URL alone (issue 13
//! item 10). Each test checks one behaviour of OpenID Connect Core 1.0,
//! Discovery 1.0 or RP-Initiated Logout 1.0 as the library sees it.

use std::str::FromStr;
use std::time::Duration;

use base64::Engine;
use openidconnect::core::{
    CoreAuthPrompt, CoreIdToken, CoreIdTokenClaims, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreResponseType, CoreSubjectIdentifierType, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, ClaimsVerificationError, ClientId, CsrfToken, LogoutRequest, Nonce,
    OAuth2TokenResponse, PostLogoutRedirectUrl, ResponseTypes, Scope, TokenResponse, UserInfoError,
};

use crate::both_backends;
use crate::support::openid::{
    discover, issuer_of, jwks_at, key_ids, kid_of, logged_in_at, openid_client, openid_user,
    rotate_signing_keys, second_instance, through_the_pages, without_interaction, Pending,
    RelyingParty, SignedIn, OPENID_SCOPE, OPENID_SETTINGS, POST_LOGOUT_URI, ROTATION_MAX_STEPS,
    ROTATION_STEP,
};
use crate::support::web::WebUser;
use crate::support::{TestApp, REDIRECT_URI};

both_backends!(
    settings = OPENID_SETTINGS,
    discovery_from_the_issuer_url_alone_describes_the_provider,
    code_flow_with_pkce_and_nonce_gives_an_id_token_the_library_verifies,
    userinfo_through_the_library_has_the_id_tokens_subject_and_claims,
    userinfo_refuses_a_token_granted_without_openid,
    refresh_with_offline_access_returns_a_new_id_token_with_the_same_auth_time,
    a_sign_in_without_offline_access_gets_no_refresh_token,
    offline_access_without_prompt_consent_is_not_granted,
    prompt_none_without_a_session_answers_login_required,
    prompt_none_with_a_session_but_no_consent_answers_consent_required,
    prompt_none_with_a_session_and_remembered_consent_signs_in_without_a_page,
    prompt_none_with_the_users_own_id_token_hint_signs_in_without_a_page,
    prompt_none_with_another_users_id_token_hint_answers_login_required,
    prompt_login_asks_for_the_password_again,
    max_age_exceeded_asks_for_the_password_again,
    max_age_not_exceeded_keeps_the_login,
    rp_initiated_logout_redirects_with_state_and_ends_the_session,
    logout_to_an_unregistered_uri_does_not_redirect_there,
    rp_initiated_logout_ends_the_session_on_every_instance,
    an_es256_client_gets_an_es256_id_token_the_library_verifies,
    an_eddsa_client_gets_an_eddsa_id_token_the_library_verifies,
    two_instances_on_one_database_verify_each_others_id_tokens,
    after_key_rotation_old_id_tokens_verify_and_the_new_key_signs,
    a_tampered_id_token_is_refused_by_the_library,
    a_wrong_nonce_is_refused_by_the_library,
    an_id_token_for_another_client_is_refused_by_the_library,
    request_objects_are_refused_with_request_not_supported,
);

/// `alice` (with an e-mail address and a name), an OpenID client of hers
/// made with `extra` CLI arguments, and a relying party for it built by
/// discovery.
/// Follows an authorization that must ask for the password again: no code
/// comes straight back, then the login and consent pages; the verified
/// claims of the ID token it ends with.
async fn after_a_fresh_login(
    app: &TestApp,
    rp: &RelyingParty,
    browser: &WebUser<'_>,
    pending: &Pending,
) -> CoreIdTokenClaims {
    let page = browser
        .get(pending.url.as_str().strip_prefix(&app.address).unwrap())
        .await;
    assert!(
        !(page.status == 302 && page.location().starts_with(REDIRECT_URI)),
        "a code without a fresh login: {}",
        page.location()
    );
    let answer = through_the_pages(browser, &pending.url, "alice").await;
    let tokens = rp.exchange(pending, &answer).await;
    rp.verified(&tokens, &pending.nonce)
}

async fn alice_and_relying_party(app: &TestApp, extra: &[&str]) -> RelyingParty {
    let alice = openid_user(app, "alice");
    let client = openid_client(app, &alice, extra).await;
    RelyingParty::discover(app, &client).await
}

/// A full sign-in of `alice` in a new browser, with `offline_access` and
/// `prompt=consent` so that a refresh token comes with it (Core §11).
async fn offline_sign_in<'a>(app: &'a TestApp, rp: &RelyingParty) -> (WebUser<'a>, SignedIn) {
    let browser = WebUser::new(app);
    let signed_in = rp
        .sign_in(
            &browser,
            "alice",
            &["profile", "email", "offline_access"],
            |r| r.add_prompt(CoreAuthPrompt::Consent),
        )
        .await;
    (browser, signed_in)
}

/// Seconds between two instants.
fn seconds_between(
    earlier: chrono::DateTime<chrono::Utc>,
    later: chrono::DateTime<chrono::Utc>,
) -> i64 {
    (later - earlier).num_seconds()
}

async fn discovery_from_the_issuer_url_alone_describes_the_provider(app: TestApp) {
    // Discovery 1.0 §4: {issuer}/.well-known/openid-configuration; the
    // library checks that `issuer` is byte-identical (§4.3) and fetches the
    // JWKS from `jwks_uri`.
    let metadata = CoreProviderMetadata::discover_async(issuer_of(&app), &app.http)
        .await
        .unwrap_or_else(|e| panic!("discovery: {e:?}"));

    assert_eq!(metadata.issuer().as_str(), app.address);
    assert_eq!(
        metadata.authorization_endpoint().as_str(),
        app.url("/oauth/authorize")
    );
    assert_eq!(
        metadata.token_endpoint().map(|u| u.as_str().to_owned()),
        Some(app.url("/oauth/token"))
    );
    assert_eq!(
        metadata.userinfo_endpoint().map(|u| u.as_str().to_owned()),
        Some(app.url("/oauth/userinfo"))
    );
    assert_eq!(
        metadata.jwks_uri().as_str(),
        app.url("/.well-known/jwks.json")
    );
    assert!(metadata
        .response_types_supported()
        .contains(&ResponseTypes::new(vec![CoreResponseType::Code])));
    assert_eq!(
        metadata.subject_types_supported(),
        &vec![CoreSubjectIdentifierType::Public]
    );
    let algs = metadata.id_token_signing_alg_values_supported();
    for alg in [
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::EdDsa,
    ] {
        assert!(algs.contains(&alg), "{alg:?} in {algs:?}");
    }
    let scopes = metadata.scopes_supported().expect("scopes_supported");
    for scope in ["openid", "profile", "email", "offline_access"] {
        assert!(
            scopes.contains(&Scope::new(scope.to_owned())),
            "{scope} in {scopes:?}"
        );
    }
    assert!(!metadata.jwks().keys().is_empty(), "published keys");
    let with_logout = discover(&app).await;
    assert_eq!(
        with_logout
            .additional_metadata()
            .end_session_endpoint
            .as_ref()
            .map(|u| u.url().as_str().to_owned()),
        Some(app.url("/oauth/logout"))
    );
}

async fn code_flow_with_pkce_and_nonce_gives_an_id_token_the_library_verifies(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let alice = app.services.find_user_by_name("alice").unwrap().unwrap();
    let browser = WebUser::new(&app);

    // `sign_in` has the library verify the signature against the JWKS and
    // iss, aud, exp and nonce (Core §3.1.3.7), and checks at_hash.
    let signed_in = rp.sign_in(&browser, "alice", OPENID_SCOPE, |r| r).await;

    let claims = &signed_in.claims;
    assert_eq!(claims.subject().as_str(), alice.id.to_string());
    assert_eq!(claims.issuer().as_str(), app.address);
    assert_eq!(claims.audiences().len(), 1);
    assert_eq!(claims.audiences()[0].as_str(), rp.registered.id);
    assert_eq!(
        claims.nonce().map(|n| n.secret().as_str()),
        Some(signed_in.nonce.secret().as_str())
    );
    assert_eq!(
        claims.authorized_party().map(|c| c.as_str()),
        Some(rp.registered.id.as_str())
    );
    assert!(claims.expiration() > claims.issue_time());
    let auth_time = claims.auth_time().expect("auth_time");
    assert!(auth_time <= claims.issue_time());
    let amr: Vec<&str> = claims
        .auth_method_refs()
        .expect("amr")
        .iter()
        .map(|m| m.as_str())
        .collect();
    assert_eq!(amr, ["pwd"]);
    assert!(claims.access_token_hash().is_some(), "at_hash");
    // RS256 unless the client registered another algorithm (Core §3.1.3.7
    // step 7, Registration §2).
    assert_eq!(
        signed_in.id_token().signing_alg().unwrap(),
        &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256
    );
}

async fn userinfo_through_the_library_has_the_id_tokens_subject_and_claims(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let browser = WebUser::new(&app);
    let signed_in = rp.sign_in(&browser, "alice", OPENID_SCOPE, |r| r).await;

    // Core §5.3.2: the library refuses a `sub` other than the expected one.
    let userinfo: CoreUserInfoClaims = rp
        .client
        .user_info(
            signed_in.tokens.access_token().clone(),
            Some(signed_in.claims.subject().clone()),
        )
        .expect("a userinfo endpoint in the metadata")
        .request_async(&app.http)
        .await
        .unwrap_or_else(|e| panic!("userinfo: {e:?}"));

    assert_eq!(userinfo.subject(), signed_in.claims.subject());
    assert_eq!(
        userinfo.preferred_username().map(|u| u.as_str()),
        Some("alice")
    );
    assert_eq!(
        userinfo
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str()),
        Some("alice Example")
    );
    assert_eq!(
        userinfo.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );
    assert_eq!(userinfo.email_verified(), Some(true));
}

async fn userinfo_refuses_a_token_granted_without_openid(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let tokens = app
        .password_tokens(&rp.registered, "alice", Some("profile"))
        .await;

    let refused: Result<CoreUserInfoClaims, _> = rp
        .client
        .user_info(
            AccessToken::new(tokens.str("access_token").to_owned()),
            None,
        )
        .expect("a userinfo endpoint in the metadata")
        .request_async(&app.http)
        .await;

    // Core §5.3.3, RFC 6750 §3.1: 403 insufficient_scope.
    match refused {
        Err(UserInfoError::Response(status, _, _)) => assert_eq!(status.as_u16(), 403),
        other => panic!("expected 403 insufficient_scope, got {other:?}"),
    }
}

async fn refresh_with_offline_access_returns_a_new_id_token_with_the_same_auth_time(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let (_, signed_in) = offline_sign_in(&app, &rp).await;
    app.advance(Duration::from_secs(60));

    let refreshed = rp.refresh(&signed_in.tokens).await;

    // Core §12.2: same iss, sub, aud and auth_time; a new iat; no nonce or
    // the original one (the library checks the signature, iss, aud, exp).
    let claims = rp.verified_refresh(&refreshed, &signed_in.nonce);
    assert_eq!(claims.subject(), signed_in.claims.subject());
    assert_eq!(claims.auth_time(), signed_in.claims.auth_time());
    assert!(claims.auth_time().is_some());
    assert!(seconds_between(signed_in.claims.issue_time(), claims.issue_time()) >= 60);
    assert_ne!(
        refreshed.id_token().unwrap().to_string(),
        signed_in.id_token().to_string()
    );
}

async fn a_sign_in_without_offline_access_gets_no_refresh_token(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let browser = WebUser::new(&app);

    let signed_in = rp.sign_in(&browser, "alice", OPENID_SCOPE, |r| r).await;

    // Issue 13 item 3: with `openid`, a refresh token only for
    // `offline_access` (Core §11).
    assert!(signed_in.tokens.refresh_token().is_none());
}

async fn offline_access_without_prompt_consent_is_not_granted(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let browser = WebUser::new(&app);

    let signed_in = rp
        .sign_in(&browser, "alice", &["profile", "offline_access"], |r| r)
        .await;

    // Core §11: offline_access is ignored unless prompt contains consent.
    assert!(signed_in.tokens.refresh_token().is_none());
    let granted = signed_in.tokens.scopes().cloned().unwrap_or_default();
    assert!(
        !granted.contains(&Scope::new("offline_access".to_owned())),
        "{granted:?}"
    );
}

async fn prompt_none_without_a_session_answers_login_required(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let pending = rp.authorization(OPENID_SCOPE, |r| r.add_prompt(CoreAuthPrompt::None));

    let answer = without_interaction(&WebUser::new(&app), &pending.url).await;

    // Core §3.1.2.6, with state and iss (RFC 9207).
    assert_eq!(answer["error"], "login_required");
    assert_eq!(answer["state"], *pending.state.secret());
    assert_eq!(answer["iss"], app.address);
    assert!(!answer.contains_key("code"));
}

async fn prompt_none_with_a_session_but_no_consent_answers_consent_required(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let browser = WebUser::new(&app);
    let logged_in = browser.log_in("alice", crate::support::PASSWORD).await;
    assert_eq!(logged_in.status, 303, "{}", logged_in.body);
    let pending = rp.authorization(OPENID_SCOPE, |r| r.add_prompt(CoreAuthPrompt::None));

    let answer = without_interaction(&browser, &pending.url).await;

    assert_eq!(answer["error"], "consent_required");
    assert_eq!(answer["state"], *pending.state.secret());
    assert!(!answer.contains_key("code"));
}

async fn prompt_none_with_a_session_and_remembered_consent_signs_in_without_a_page(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let browser = WebUser::new(&app);
    let first = rp.sign_in(&browser, "alice", OPENID_SCOPE, |r| r).await;
    let pending = rp.authorization(OPENID_SCOPE, |r| r.add_prompt(CoreAuthPrompt::None));

    let answer = without_interaction(&browser, &pending.url).await;

    let tokens = rp.exchange(&pending, &answer).await;
    let claims = rp.verified(&tokens, &pending.nonce);
    assert_eq!(claims.subject(), first.claims.subject());
    assert_eq!(claims.auth_time(), first.claims.auth_time());
}

async fn prompt_none_with_the_users_own_id_token_hint_signs_in_without_a_page(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let browser = WebUser::new(&app);
    let first = rp.sign_in(&browser, "alice", OPENID_SCOPE, |r| r).await;
    let hint = first.id_token().to_string();
    let pending = rp.authorization(OPENID_SCOPE, |r| {
        r.add_prompt(CoreAuthPrompt::None)
            .add_extra_param("id_token_hint", hint)
    });

    let answer = without_interaction(&browser, &pending.url).await;

    let tokens = rp.exchange(&pending, &answer).await;
    let claims = rp.verified(&tokens, &pending.nonce);
    assert_eq!(claims.subject(), first.claims.subject());
}

async fn prompt_none_with_another_users_id_token_hint_answers_login_required(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    openid_user(&app, "bob");
    let alices = rp
        .sign_in(&WebUser::new(&app), "alice", OPENID_SCOPE, |r| r)
        .await;
    let bobs_browser = WebUser::new(&app);
    rp.sign_in(&bobs_browser, "bob", OPENID_SCOPE, |r| r).await;
    let hint = alices.id_token().to_string();
    let pending = rp.authorization(OPENID_SCOPE, |r| {
        r.add_prompt(CoreAuthPrompt::None)
            .add_extra_param("id_token_hint", hint)
    });

    let answer = without_interaction(&bobs_browser, &pending.url).await;

    // Core §3.1.2.1 id_token_hint: the signed-in user is not the one the
    // hint names, so login_required and no code.
    assert_eq!(answer["error"], "login_required");
    assert_eq!(answer["state"], *pending.state.secret());
    assert!(!answer.contains_key("code"));
}

async fn prompt_login_asks_for_the_password_again(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let browser = WebUser::new(&app);
    let first = rp.sign_in(&browser, "alice", OPENID_SCOPE, |r| r).await;
    app.advance(Duration::from_secs(30));
    let pending = rp.authorization(OPENID_SCOPE, |r| r.add_prompt(CoreAuthPrompt::Login));

    let claims = after_a_fresh_login(&app, &rp, &browser, &pending).await;
    let (before, after) = (
        first.claims.auth_time().unwrap(),
        claims.auth_time().expect("auth_time"),
    );
    assert!(seconds_between(before, after) >= 30, "{before} → {after}");
}

async fn max_age_exceeded_asks_for_the_password_again(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let browser = WebUser::new(&app);
    let first = rp.sign_in(&browser, "alice", OPENID_SCOPE, |r| r).await;
    app.advance(Duration::from_secs(120));
    let pending = rp.authorization(OPENID_SCOPE, |r| r.set_max_age(Duration::from_secs(60)));

    // Not silent: the login is older than max_age (Core §3.1.2.1).
    let claims = after_a_fresh_login(&app, &rp, &browser, &pending).await;
    let (before, after) = (
        first.claims.auth_time().unwrap(),
        claims
            .auth_time()
            .expect("auth_time, required with max_age"),
    );
    assert!(seconds_between(before, after) >= 120, "{before} → {after}");
}

async fn max_age_not_exceeded_keeps_the_login(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let browser = WebUser::new(&app);
    let first = rp.sign_in(&browser, "alice", OPENID_SCOPE, |r| r).await;
    app.advance(Duration::from_secs(30));
    let pending = rp.authorization(OPENID_SCOPE, |r| {
        r.set_max_age(Duration::from_secs(3600))
            .add_prompt(CoreAuthPrompt::None)
    });

    let answer = without_interaction(&browser, &pending.url).await;

    let tokens = rp.exchange(&pending, &answer).await;
    let claims = rp.verified(&tokens, &pending.nonce);
    assert_eq!(claims.auth_time(), first.claims.auth_time());
}

/// An RP-initiated logout request (RP-Initiated Logout 1.0 §2) for the ID
/// token of `signed_in`, back to `post_logout_uri`, with state `bye`.
fn logout_url(rp: &RelyingParty, signed_in: &SignedIn, post_logout_uri: &str) -> String {
    let endpoint = rp
        .metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("an end_session_endpoint in the metadata");
    LogoutRequest::from(endpoint)
        .set_id_token_hint(signed_in.id_token())
        .set_client_id(ClientId::new(rp.registered.id.clone()))
        .set_post_logout_redirect_uri(
            PostLogoutRedirectUrl::new(post_logout_uri.to_owned()).unwrap(),
        )
        .set_state(CsrfToken::new("bye".to_owned()))
        .http_get_url()
        .to_string()
}

async fn rp_initiated_logout_redirects_with_state_and_ends_the_session(app: TestApp) {
    let rp = alice_and_relying_party(&app, &["--post-logout-redirect-uri", POST_LOGOUT_URI]).await;
    let browser = WebUser::new(&app);
    let signed_in = rp.sign_in(&browser, "alice", OPENID_SCOPE, |r| r).await;
    assert!(browser.is_logged_in().await);

    let url = logout_url(&rp, &signed_in, POST_LOGOUT_URI);
    let answer = browser.get(url.strip_prefix(&app.address).unwrap()).await;

    // §3: the hint ties the request to this session, so no confirmation;
    // the redirect goes to the registered URI with state.
    assert!(
        (300..400).contains(&answer.status),
        "{} {}",
        answer.status,
        answer.body
    );
    let target = url::Url::parse(answer.location()).expect("an absolute redirect");
    assert_eq!(
        format!(
            "{}://{}{}",
            target.scheme(),
            target.host_str().unwrap(),
            target.path()
        ),
        POST_LOGOUT_URI
    );
    let params = crate::support::location_params(answer.location());
    assert_eq!(params["state"], "bye");
    assert!(!browser.is_logged_in().await, "the session has ended");
    let pending = rp.authorization(OPENID_SCOPE, |r| r.add_prompt(CoreAuthPrompt::None));
    let silent = without_interaction(&browser, &pending.url).await;
    assert_eq!(silent["error"], "login_required");
}

async fn logout_to_an_unregistered_uri_does_not_redirect_there(app: TestApp) {
    let rp = alice_and_relying_party(&app, &["--post-logout-redirect-uri", POST_LOGOUT_URI]).await;
    let browser = WebUser::new(&app);
    let signed_in = rp.sign_in(&browser, "alice", OPENID_SCOPE, |r| r).await;
    let near_miss = format!("{POST_LOGOUT_URI}/");

    for unregistered in ["https://evil.example/logged-out", near_miss.as_str()] {
        let url = logout_url(&rp, &signed_in, unregistered);
        let answer = browser.get(url.strip_prefix(&app.address).unwrap()).await;

        // §3: no redirect to a URI that does not exactly match a
        // registered one.
        assert!(
            !answer.location().starts_with(unregistered),
            "{unregistered}: {}",
            answer.location()
        );
    }
}

async fn rp_initiated_logout_ends_the_session_on_every_instance(app: TestApp) {
    let rp = alice_and_relying_party(&app, &["--post-logout-redirect-uri", POST_LOGOUT_URI]).await;
    let other = second_instance(&app).await;
    let browser = WebUser::new(&app);
    let signed_in = rp.sign_in(&browser, "alice", OPENID_SCOPE, |r| r).await;
    assert!(
        logged_in_at(&browser, &other).await,
        "one session for both instances"
    );

    let url = logout_url(&rp, &signed_in, POST_LOGOUT_URI);
    let answer = browser.get(url.strip_prefix(&app.address).unwrap()).await;

    // Issue 13 item 8: the browser session ends on every instance.
    assert!((300..400).contains(&answer.status), "{}", answer.body);
    assert!(!logged_in_at(&browser, &other).await);
    assert!(!logged_in_at(&browser, &app.address).await);
}

/// A client registered with `--id-token-alg name` gets ID tokens signed
/// with `alg`, which the library verifies when it allows that algorithm
/// only (Core §3.1.3.7 step 7; Registration §2
/// `id_token_signed_response_alg`), at_hash with the algorithm's hash.
async fn signed_with(app: &TestApp, name: &str, alg: CoreJwsSigningAlgorithm) {
    let rp = alice_and_relying_party(app, &["--id-token-alg", name]).await;
    let browser = WebUser::new(app);

    let signed_in = rp.sign_in(&browser, "alice", OPENID_SCOPE, |r| r).await;

    let id_token = signed_in.id_token();
    assert_eq!(id_token.signing_alg().unwrap(), &alg);
    let only_this_alg = rp.verifier().set_allowed_algs([alg.clone()]);
    id_token
        .claims(&only_this_alg, &signed_in.nonce)
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    rp.assert_at_hash(&signed_in.tokens);
}

async fn an_es256_client_gets_an_es256_id_token_the_library_verifies(app: TestApp) {
    signed_with(&app, "ES256", CoreJwsSigningAlgorithm::EcdsaP256Sha256).await;
}

async fn an_eddsa_client_gets_an_eddsa_id_token_the_library_verifies(app: TestApp) {
    signed_with(&app, "EdDSA", CoreJwsSigningAlgorithm::EdDsa).await;
}

async fn two_instances_on_one_database_verify_each_others_id_tokens(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let other = second_instance(&app).await;
    let (_, signed_in) = offline_sign_in(&app, &rp).await;

    // Signed by the first instance, verified with the second one's JWKS.
    let other_keys = jwks_at(&app, &other).await;
    signed_in
        .id_token()
        .claims(&rp.verifier_with_keys(other_keys), &signed_in.nonce)
        .unwrap_or_else(|e| panic!("the second instance's JWKS: {e:?}"));

    // Signed by the second instance (a refresh there), verified with the
    // first one's JWKS (the relying party's discovery).
    let at_other = reqwest::Client::new()
        .post(format!("{other}/oauth/token"))
        .basic_auth(&rp.registered.id, Some(&rp.registered.secret))
        .form(&[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                signed_in.tokens.refresh_token().unwrap().secret(),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(at_other.status(), 200);
    let body: serde_json::Value = at_other.json().await.unwrap();
    let id_token = CoreIdToken::from_str(body["id_token"].as_str().expect("an ID token")).unwrap();
    let nonce = signed_in.nonce.clone();
    id_token
        .claims(&rp.verifier(), move |n: Option<&Nonce>| match n {
            Some(n) if n.secret() != nonce.secret() => Err("another nonce".to_owned()),
            _ => Ok(()),
        })
        .unwrap_or_else(|e| panic!("the first instance's JWKS: {e:?}"));
}

async fn after_key_rotation_old_id_tokens_verify_and_the_new_key_signs(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let (_, before) = offline_sign_in(&app, &rp).await;
    let old_kid = kid_of(before.id_token());

    rotate_signing_keys(&app).await;
    // Published first, signing a little later: refresh until the new key
    // signs, within the bound the server states.
    let mut after = rp.refresh(&before.tokens).await;
    for _ in 0..ROTATION_MAX_STEPS {
        if kid_of(after.id_token().unwrap()) != old_kid {
            break;
        }
        app.advance(ROTATION_STEP);
        after = rp.refresh(&after).await;
    }

    let new_kid = kid_of(after.id_token().unwrap());
    assert_ne!(new_kid, old_kid, "the new key signs after the rotation");
    // A relying party that fetches the keys now verifies both: the old key
    // stays published while tokens it signed live.
    let rediscovered = RelyingParty::discover(&app, &rp.registered).await;
    let published = key_ids(rediscovered.metadata.jwks());
    assert!(
        published.contains(&old_kid) && published.contains(&new_kid),
        "{published:?}"
    );
    rediscovered.verified(&before.tokens, &before.nonce);
    rediscovered.verified_refresh(&after, &before.nonce);
}

async fn a_tampered_id_token_is_refused_by_the_library(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let browser = WebUser::new(&app);
    let signed_in = rp.sign_in(&browser, "alice", OPENID_SCOPE, |r| r).await;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let original = signed_in.id_token().to_string();
    let parts: Vec<&str> = original.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = serde_json::Value::String("mallory".to_owned());
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        engine.encode(serde_json::to_vec(&payload).unwrap()),
        parts[2]
    );

    let refused = CoreIdToken::from_str(&forged)
        .unwrap()
        .claims(&rp.verifier(), &signed_in.nonce)
        .map(|_| ());

    assert!(
        matches!(
            refused,
            Err(ClaimsVerificationError::SignatureVerification(_))
        ),
        "{refused:?}"
    );
}

async fn a_wrong_nonce_is_refused_by_the_library(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let browser = WebUser::new(&app);
    let signed_in = rp.sign_in(&browser, "alice", OPENID_SCOPE, |r| r).await;

    let refused = signed_in
        .id_token()
        .claims(
            &rp.verifier(),
            &Nonce::new("another request's nonce".to_owned()),
        )
        .map(|_| ());

    assert!(
        matches!(refused, Err(ClaimsVerificationError::InvalidNonce(_))),
        "{refused:?}"
    );
}

async fn an_id_token_for_another_client_is_refused_by_the_library(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let alice = app.services.find_user_by_name("alice").unwrap().unwrap();
    let other = RelyingParty::discover(&app, &openid_client(&app, &alice, &[]).await).await;
    let browser = WebUser::new(&app);
    let signed_in = rp.sign_in(&browser, "alice", OPENID_SCOPE, |r| r).await;

    let refused = signed_in
        .id_token()
        .claims(&other.verifier(), &signed_in.nonce)
        .map(|_| ());

    assert!(
        matches!(refused, Err(ClaimsVerificationError::InvalidAudience(_))),
        "{refused:?}"
    );
}

async fn request_objects_are_refused_with_request_not_supported(app: TestApp) {
    let rp = alice_and_relying_party(&app, &[]).await;
    let browser = WebUser::new(&app);
    for (parameter, error) in [
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
    ] {
        let value = match parameter {
            "request" => "eyJhbGciOiJub25lIn0.e30.",
            _ => "https://client.example.com/request.jwt",
        };
        let pending = rp.authorization(OPENID_SCOPE, |r| r.add_extra_param(parameter, value));

        let answer = without_interaction(&browser, &pending.url).await;

        // Core §6.1, §6.2: refused to the client, with state.
        assert_eq!(answer["error"], error, "{parameter}");
        assert_eq!(answer["state"], *pending.state.secret(), "{parameter}");
    }
}
