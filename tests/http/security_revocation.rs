//! SECURITY.md §7, revocation (RV-01 … RV-08, RFC 7009).

use crate::both_backends;
use crate::support::TestApp;

both_backends![
    rv_01_revoked_access_token_is_refused,
    rv_02_revoked_refresh_token_is_refused,
    rv_03_revoking_a_refresh_token_revokes_its_access_tokens,
    rv_04_unknown_token_is_200,
    rv_05_confidential_clients_must_authenticate_to_revoke,
    rv_06_a_client_cannot_revoke_another_clients_token,
    rv_07_wrong_hint_still_revokes,
    rv_08_only_post_revokes
];

async fn rv_01_revoked_access_token_is_refused(app: TestApp) {
    let (_, client, tokens) = app.alice_tokens(None).await;
    assert_eq!(app.me_status(tokens.str("access_token")).await, 200);

    let answer = app
        .revoke(Some(&client), &[("token", tokens.str("access_token"))])
        .await;

    assert_eq!(answer.status, 200);
    assert_eq!(app.me_status(tokens.str("access_token")).await, 401);
}

async fn rv_02_revoked_refresh_token_is_refused(app: TestApp) {
    let (_, client, tokens) = app.alice_tokens(None).await;

    app.revoke(
        Some(&client),
        &[
            ("token", tokens.str("refresh_token")),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await;

    let answer = app.refresh(&client, tokens.str("refresh_token")).await;
    answer.assert_error(400, "invalid_grant");
}

async fn rv_03_revoking_a_refresh_token_revokes_its_access_tokens(app: TestApp) {
    let (_, client, first) = app.alice_tokens(None).await;
    let second = app.refresh(&client, first.str("refresh_token")).await;

    app.revoke(Some(&client), &[("token", second.str("refresh_token"))])
        .await;

    assert_eq!(app.me_status(second.str("access_token")).await, 401);
    assert_eq!(app.me_status(first.str("access_token")).await, 401);
}

async fn rv_04_unknown_token_is_200(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    for token in ["invalid-token", "x", &"A".repeat(43)] {
        for hint in ["access_token", "refresh_token", "bogus"] {
            let answer = app
                .revoke(
                    Some(&client),
                    &[("token", token), ("token_type_hint", hint)],
                )
                .await;
            assert_eq!(answer.status, 200, "{token} {hint}");
        }
    }
}

async fn rv_05_confidential_clients_must_authenticate_to_revoke(app: TestApp) {
    let (_, client, tokens) = app.alice_tokens(None).await;
    let access = tokens.str("access_token");

    let anonymous = app.revoke(None, &[("token", access)]).await;
    let id_only = app
        .revoke(None, &[("token", access), ("client_id", &client.id)])
        .await;
    let wrong = app
        .revoke(Some(&client.with_secret("wrong")), &[("token", access)])
        .await;

    for answer in [anonymous, id_only, wrong] {
        assert!(
            answer.status == 400 || answer.status == 401,
            "{}",
            answer.status
        );
    }
    assert_eq!(app.me_status(access).await, 200);
}

async fn rv_06_a_client_cannot_revoke_another_clients_token(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let other = app.full_client(&alice);
    let tokens = app.password_tokens(&client, "alice", None).await;

    for token in [tokens.str("access_token"), tokens.str("refresh_token")] {
        app.revoke(Some(&other), &[("token", token)]).await;
    }

    assert_eq!(app.me_status(tokens.str("access_token")).await, 200);
    assert_eq!(
        app.refresh_status(&client, tokens.str("refresh_token"))
            .await,
        200
    );
}

async fn rv_07_wrong_hint_still_revokes(app: TestApp) {
    let (_, client, a) = app.alice_tokens(None).await;
    let b = app.password_tokens(&client, "alice", None).await;

    app.revoke(
        Some(&client),
        &[
            ("token", a.str("access_token")),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await;
    app.revoke(
        Some(&client),
        &[
            ("token", b.str("refresh_token")),
            ("token_type_hint", "access_token"),
        ],
    )
    .await;

    assert_eq!(app.me_status(a.str("access_token")).await, 401);
    assert_eq!(
        app.refresh(&client, b.str("refresh_token")).await.error(),
        "invalid_grant"
    );
}

async fn rv_08_only_post_revokes(app: TestApp) {
    let (_, client, tokens) = app.alice_tokens(None).await;
    let access = tokens.str("access_token");

    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let response = app
            .send_with_basic(
                method.clone(),
                &format!("/oauth/revoke?token={access}"),
                &client,
            )
            .await;
        assert!(response.status().is_client_error(), "{method}");
    }
    assert_eq!(app.me_status(access).await, 200);
}
