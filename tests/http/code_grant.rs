//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3,
//! RFC 7636 §4.5–§4.6): single use, replay revocation, binding to client,
//! redirect URI and verifier, expiry, and concurrent redemption.

use std::sync::Arc;

use crate::both_backends;
use crate::support::TestApp;
use crate::support::{REDIRECT_URI, VERIFIER};

both_backends![
    a_code_is_redeemed_once_and_a_replay_revokes_its_tokens,
    a_code_is_bound_to_its_client,
    redirect_uri_must_repeat_the_authorization_request,
    the_pkce_verifier_is_required_and_checked,
    unknown_or_missing_code,
    a_public_client_redeems_with_its_id_and_verifier_and_gets_no_refresh_token,
    ten_concurrent_redemptions_one_success
];

async fn a_code_is_redeemed_once_and_a_replay_revokes_its_tokens(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let code = app.code(&client, &alice, Some("profile"));

    let first = app.redeem(&client, &code).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.str("scope"), "profile");
    let access = first.str("access_token").to_owned();
    let refresh = first.str("refresh_token").to_owned();
    assert_eq!(app.me_status(&access).await, 200);

    let replay = app.redeem(&client, &code).await;
    assert_eq!((replay.status, replay.error()), (400, "invalid_grant"));
    assert_eq!(app.me_status(&access).await, 401);
    assert_eq!(
        app.refresh(&client, &refresh).await.error(),
        "invalid_grant"
    );
}

async fn a_code_is_bound_to_its_client(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let other = app.full_client(&alice);
    let code = app.code(&client, &alice, None);

    let stolen = app.redeem(&other, &code).await;

    assert_eq!((stolen.status, stolen.error()), (400, "invalid_grant"));
    assert_eq!(app.redeem(&client, &code).await.status, 200);
}

async fn redirect_uri_must_repeat_the_authorization_request(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let code = app.code(&client, &alice, None);
    let other_uri = format!("{REDIRECT_URI}/other");

    let different = app
        .token(
            Some(&client),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &other_uri),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    let omitted = app
        .token(
            Some(&client),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;

    assert_eq!(
        (different.status, different.error()),
        (400, "invalid_grant")
    );
    assert_eq!((omitted.status, omitted.error()), (400, "invalid_grant"));
}

async fn the_pkce_verifier_is_required_and_checked(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let code = app.code(&client, &alice, None);
    let form = |verifier: Option<&'static str>| {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        form
    };

    let missing = app.token(Some(&client), &form(None)).await;
    let short = app.token(Some(&client), &form(Some("abc"))).await;
    let wrong = app
        .token(
            Some(&client),
            &form(Some("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")),
        )
        .await;
    let challenge_as_verifier = app
        .token(
            Some(&client),
            &form(Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")),
        )
        .await;
    let right = app.token(Some(&client), &form(Some(VERIFIER))).await;

    assert_eq!((missing.status, missing.error()), (400, "invalid_request"));
    assert_eq!((short.status, short.error()), (400, "invalid_request"));
    assert_eq!((wrong.status, wrong.error()), (400, "invalid_grant"));
    assert_eq!(
        (challenge_as_verifier.status, challenge_as_verifier.error()),
        (400, "invalid_grant")
    );
    assert_eq!(right.status, 200);
}

async fn unknown_or_missing_code(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);

    let unknown = app.redeem(&client, "no-such-code").await;
    let missing = app
        .token(
            Some(&client),
            &[
                ("grant_type", "authorization_code"),
                ("redirect_uri", REDIRECT_URI),
            ],
        )
        .await;

    assert_eq!((unknown.status, unknown.error()), (400, "invalid_grant"));
    assert_eq!((missing.status, missing.error()), (400, "invalid_request"));
}

async fn a_public_client_redeems_with_its_id_and_verifier_and_gets_no_refresh_token(app: TestApp) {
    let alice = app.user("alice");
    let public = app.client(&alice, &["authorization_code"], "profile", "none");
    let code = app.code(&public, &alice, None);

    let answer = app
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
                ("client_id", &public.id),
            ],
        )
        .await;

    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(answer.body.get("refresh_token").is_none());
}

async fn ten_concurrent_redemptions_one_success(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let code = app.code(&client, &alice, None);
    let app = Arc::new(app);

    let attempts = (0..10).map(|_| {
        let (app, client, code) = (app.clone(), client.clone(), code.clone());
        tokio::spawn(async move { app.redeem(&client, &code).await.status })
    });
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        9,
        "{statuses:?}"
    );
}

both_backends!(
    settings = &["--code-ttl", "60"],
    an_expired_code_is_invalid_grant
);

async fn an_expired_code_is_invalid_grant(app: TestApp) {
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
