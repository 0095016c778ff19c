//! Client registration and the client page over HTTP.

use crate::both_backends;
use crate::support::web::{code_client_form, fields, WebUser};
use crate::support::TestApp;
use crate::support::TestClient;

both_backends![
    a_registered_client_shows_its_secret_once_and_works,
    invalid_registrations_keep_the_values_and_say_what_is_wrong,
    client_names_are_escaped,
    only_the_owner_sees_or_changes_a_client,
    rotation_replaces_the_secret_and_deletion_revokes_tokens,
    registration_without_csrf_token_creates_nothing
];

async fn a_registered_client_shows_its_secret_once_and_works(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    let form = code_client_form("Web app");
    let mut with_password: Vec<(&str, &str)> = fields(&form);
    with_password.retain(|(k, _)| *k != "grant_type");
    with_password.push(("grant_type", "authorization_code\nrefresh_token\npassword"));

    let (id, secret) = alice.create_client(&with_password).await;
    let secret = secret.expect("the secret is shown right after creation");
    let again = alice.get(&format!("/clients/{id}")).await;

    assert!(
        again.element_text("client_secret").is_none(),
        "the secret is shown only once"
    );
    assert_eq!(again.header("cache-control"), "no-store");
    let client = TestClient {
        id: id.clone(),
        secret,
    };
    assert_eq!(
        app.password_tokens(&client, "alice", None).await.status,
        200
    );
    let home = alice.get("/").await;
    assert!(home.body.contains(&format!("/clients/{id}")));
    assert!(
        again
            .body
            .contains(&format!("curl -u &#x27;{id}:$CLIENT_SECRET&#x27;")),
        "curl commands are filled in"
    );
}

async fn invalid_registrations_keep_the_values_and_say_what_is_wrong(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;

    let page = alice
        .submit_at(
            "/create_client",
            &[
                ("client_name", "Kept name"),
                ("redirect_uri", "javascript:alert(1)//"),
                ("grant_type", "implicit\nurn:bogus"),
                ("response_type", "token"),
                ("token_endpoint_auth_method", "client_secret_basic"),
            ],
        )
        .await;

    assert_eq!(page.status, 400);
    assert!(page.body.contains("value=\"Kept name\""));
    for field in ["redirect_uri", "grant_type", "token_endpoint_auth_method"] {
        assert!(
            page.body.contains(&format!("data-field=\"{field}\"")),
            "{field}"
        );
    }
    assert!(!alice.get("/").await.body.contains("client-link"));
}

async fn client_names_are_escaped(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    let mut form = code_client_form("");
    form[0].1 = "<script>alert('x')</script>".to_owned();

    let (id, _) = alice.create_client(&fields(&form)).await;

    for path in [
        "/".to_owned(),
        format!("/clients/{id}"),
        crate::support::web::authorize_query(&id, ""),
    ] {
        let page = alice.get(&path).await;
        assert!(!page.body.contains("<script>alert"), "{path}");
        assert!(page.body.contains("&lt;script&gt;"), "{path}");
    }
}

async fn only_the_owner_sees_or_changes_a_client(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    let (id, _) = alice
        .create_client(&fields(&code_client_form("Mine")))
        .await;
    let mallory = WebUser::signed_up(&app, "mallory").await;

    assert_eq!(mallory.get(&format!("/clients/{id}")).await.status, 404);
    let token = mallory.get("/").await.csrf_token();
    assert_eq!(
        mallory
            .post(&format!("/clients/{id}/delete"), &[("csrf_token", &token)])
            .await
            .status,
        404
    );
    assert_eq!(
        mallory
            .post(
                &format!("/clients/{id}/rotate_secret"),
                &[("csrf_token", &token)]
            )
            .await
            .status,
        404
    );
    assert_eq!(alice.get(&format!("/clients/{id}")).await.status, 200);
    assert_eq!(
        WebUser::new(&app)
            .get(&format!("/clients/{id}"))
            .await
            .status,
        303
    );
}

async fn rotation_replaces_the_secret_and_deletion_revokes_tokens(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    let form = vec![
        ("client_name", "Machine"),
        ("scope", "profile"),
        ("grant_type", "client_credentials\npassword"),
        ("token_endpoint_auth_method", "client_secret_basic"),
    ];
    let (id, secret) = alice.create_client(&form).await;
    let old = TestClient {
        id: id.clone(),
        secret: secret.unwrap(),
    };
    let token = alice.get(&format!("/clients/{id}")).await.csrf_token();

    let rotated = alice
        .post(
            &format!("/clients/{id}/rotate_secret"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(rotated.status, 303);
    let new_secret = alice
        .get(rotated.location())
        .await
        .element_text("client_secret")
        .expect("new secret shown");
    let new = TestClient {
        id: id.clone(),
        secret: new_secret,
    };
    assert_eq!(app.client_credentials(&old).await.status, 401);
    let tokens = app.password_tokens(&new, "alice", None).await;
    assert_eq!(app.me_status(tokens.str("access_token")).await, 200);

    let deleted = alice
        .post(&format!("/clients/{id}/delete"), &[("csrf_token", &token)])
        .await;
    assert_eq!(deleted.status, 303);
    assert_eq!(app.me_status(tokens.str("access_token")).await, 401);
    assert_eq!(app.client_credentials(&new).await.status, 401);
}

async fn registration_without_csrf_token_creates_nothing(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    let form = code_client_form("Forged");

    let forged = alice.post("/create_client", &fields(&form)).await;

    assert_eq!(forged.status, 403);
    assert!(!alice.get("/").await.body.contains("client-link"));
}
