//! Requests to the token, revocation and introspection endpoints that many
//! tests send, and the checks they make of the answers (RFC 6749 §4–§5).

use domain::user::User;

use crate::support::web::{Page, WebUser};
use crate::support::{answer, Answer, TestApp, TestClient, PASSWORD, REDIRECT_URI, VERIFIER};

/// The form content type (RFC 6749 §4.1.3: token requests use it).
pub const FORM: &str = "application/x-www-form-urlencoded";

impl TestApp {
    /// `grant_type=client_credentials` with no Basic header: `client_id`
    /// (and `client_secret`, when given) in the body (RFC 6749 §2.3.1).
    pub async fn client_credentials_in_body(
        &self,
        client_id: &str,
        client_secret: Option<&str>,
    ) -> Answer {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
        ];
        if let Some(secret) = client_secret {
            form.push(("client_secret", secret));
        }
        self.token(None, &form).await
    }

    /// `grant_type=client_credentials` with Basic credentials, asking for
    /// `scope`.
    pub async fn client_credentials_with_scope(&self, client: &TestClient, scope: &str) -> Answer {
        self.token(
            Some(client),
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await
    }

    /// A public client (`none`) of `owner` with the code grant only.
    pub fn public_code_client(&self, owner: &User) -> TestClient {
        self.client(owner, &["authorization_code"], "profile", "none")
    }

    /// A confidential (Basic) client of `owner` with the code grant only.
    pub fn code_only_client(&self, owner: &User) -> TestClient {
        self.client(
            owner,
            &["authorization_code"],
            "profile",
            "client_secret_basic",
        )
    }

    /// A `client_secret_post` client of `owner` with the client-credentials
    /// grant only.
    pub fn post_client(&self, owner: &User) -> TestClient {
        self.client(
            owner,
            &["client_credentials"],
            "profile",
            "client_secret_post",
        )
    }

    /// A password grant by a Basic client, whatever its outcome.
    pub async fn password_grant(
        &self,
        client: &TestClient,
        username: &str,
        password: &str,
    ) -> Answer {
        self.token(
            Some(client),
            &[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// A password grant for `username` with [`PASSWORD`] by a public
    /// client, which names itself in the body.
    pub async fn password_grant_by_public(&self, client_id: &str, username: &str) -> Answer {
        self.token(
            None,
            &[
                ("grant_type", "password"),
                ("client_id", client_id),
                ("username", username),
                ("password", PASSWORD),
            ],
        )
        .await
    }

    /// Redeems `code` by a Basic client with the given redirect URI and
    /// verifier.
    pub async fn redeem_with(
        &self,
        client: &TestClient,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Answer {
        self.token(
            Some(client),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    /// `POST /oauth/revoke` of `token` by a Basic client (RFC 7009 §2.1).
    pub async fn revoke_token(&self, client: &TestClient, token: &str) -> Answer {
        self.post_form("/oauth/revoke", Some(client), &[("token", token)])
            .await
    }

    /// `POST /oauth/introspect` of `token` by a Basic client (RFC 7662
    /// §2.1).
    pub async fn introspect_token(&self, client: &TestClient, token: &str) -> Answer {
        self.post_form("/oauth/introspect", Some(client), &[("token", token)])
            .await
    }

    /// Redeems `code` by a public client, which names itself in the body
    /// (RFC 6749 §4.1.3), with `redirect_uri` and the fixture verifier.
    pub async fn redeem_as_public(
        &self,
        client: &TestClient,
        code: &str,
        redirect_uri: &str,
    ) -> Answer {
        self.token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", VERIFIER),
                ("client_id", &client.id),
            ],
        )
        .await
    }

    /// Redeems `code` by a Basic client with the fixture verifier and no
    /// `redirect_uri` (RFC 6749 §4.1.3 requires it when the authorization
    /// request had one).
    pub async fn redeem_omitting_redirect_uri(&self, client: &TestClient, code: &str) -> Answer {
        self.token(
            Some(client),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("code_verifier", VERIFIER),
            ],
        )
        .await
    }

    /// `POST path` of `token` with a `token_type_hint` by a Basic client
    /// (RFC 7009 §2.1, RFC 7662 §2.1).
    pub async fn post_token_with_hint(
        &self,
        path: &str,
        client: &TestClient,
        token: &str,
        hint: &str,
    ) -> Answer {
        self.post_form(
            path,
            Some(client),
            &[("token", token), ("token_type_hint", hint)],
        )
        .await
    }

    /// POSTs `body` as is, with `content_type`, optionally with Basic
    /// credentials.
    pub async fn raw_post(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        basic: Option<&TestClient>,
    ) -> Answer {
        let mut request = self
            .http
            .post(self.url(path))
            .header("Content-Type", content_type)
            .body(body);
        if let Some(client) = basic {
            request = request.basic_auth(&client.id, Some(&client.secret));
        }
        answer(request.send().await.expect("request sent")).await
    }

    /// A client-credentials token request with `authorization` as the
    /// `Authorization` header, verbatim.
    pub async fn token_with_authorization(&self, authorization: &str) -> Answer {
        let request = self
            .http
            .post(self.url("/oauth/token"))
            .header("Authorization", authorization)
            .form(&[("grant_type", "client_credentials")]);
        answer(request.send().await.expect("request sent")).await
    }

    /// `GET path` without credentials.
    pub async fn anonymous_get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// The status of `GET path` without credentials.
    pub async fn get_status(&self, path: &str) -> u16 {
        self.anonymous_get(path).await.status().as_u16()
    }

    /// The authorization server metadata (RFC 8414 §3), after checking that
    /// it is served with 200.
    pub async fn metadata(&self) -> serde_json::Value {
        let response = self
            .anonymous_get("/.well-known/oauth-authorization-server")
            .await;
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.expect("metadata is JSON")
    }
}

impl Answer {
    /// Asserts the answer forbids caching (RFC 6749 §5.1).
    #[track_caller]
    pub fn assert_not_cached(&self) {
        assert_eq!(self.header("cache-control"), "no-store");
        assert_eq!(self.header("pragma"), "no-cache");
    }

    /// Whether the answer issued no access token.
    pub fn has_no_access_token(&self) -> bool {
        self.body.get("access_token").is_none()
    }
}

/// The same client id with another secret.
pub fn with_secret(client: &TestClient, secret: &str) -> TestClient {
    TestClient {
        id: client.id.clone(),
        secret: secret.to_owned(),
    }
}

/// Sends `evil` as the client id and secret, the code, the refresh token,
/// the username and password, and the token to revoke, and asserts that
/// each is only a value that matches nothing (SQL metacharacters are data).
/// The code redemption sends `redirect_uri` and `verifier` with it.
pub async fn assert_token_requests_treat_as_data(
    app: &TestApp,
    client: &TestClient,
    evil: &str,
    redirect_uri: &str,
    verifier: &str,
) {
    let by_id = app.client_credentials_in_body(evil, Some(evil)).await;
    let by_code = app.redeem_with(client, evil, redirect_uri, verifier).await;
    let by_refresh = app.refresh(client, evil).await;
    let by_user = app.password_grant(client, evil, evil).await;
    let revoke = app.revoke_token(client, evil).await;

    assert_eq!(by_id.error(), "invalid_client");
    assert_eq!(by_code.error(), "invalid_grant");
    assert_eq!(by_refresh.error(), "invalid_grant");
    assert_eq!(by_user.error(), "invalid_grant");
    assert_eq!(revoke.status, 200);
}

/// Asserts that a client authenticates only by its registered method (RFC
/// 6749 §2.3): the Basic client's secret in the body and the
/// `client_secret_post` client's in a Basic header are both `invalid_client`.
pub async fn assert_only_the_registered_auth_method_works(
    app: &TestApp,
    basic: &TestClient,
    post: &TestClient,
) {
    let basic_in_body = app
        .client_credentials_in_body(&basic.id, Some(&basic.secret))
        .await;
    let post_in_header = app.client_credentials(post).await;

    basic_in_body.assert_error_for(401, "invalid_client", "Basic client, secret in the body");
    post_in_header.assert_error_for(401, "invalid_client", "post client, Basic header");
}

/// The access and refresh tokens of five password grants by `client` for
/// alice, after asserting that no two are the same (RFC 6749 §10.10).
pub async fn distinct_tokens_of_five_password_grants(
    app: &TestApp,
    client: &TestClient,
) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut tokens = Vec::new();
    for _ in 0..5 {
        let answer = app.password_tokens(client, "alice", None).await;
        for name in ["access_token", "refresh_token"] {
            let token = answer.str(name).to_owned();
            assert!(seen.insert(token.clone()), "{name} {token} again");
            tokens.push(token);
        }
    }
    tokens
}

/// What `user` gets for the authorization request `query`: the page of its
/// GET, then the answer to a consent POST ("yes") to it carrying a valid
/// CSRF token, taken from `form_page` (a consent page that renders).
pub async fn shown_and_consented(user: &WebUser<'_>, form_page: &str, query: &str) -> [Page; 2] {
    let shown = user.get(query).await;
    let posted = user.submit(form_page, query, &[("confirm", "yes")]).await;
    [shown, posted]
}

/// Registers, through the pages, a public implicit-grant client of `user`
/// for the fixture redirect URI; returns its id and the secret shown, if any.
pub async fn create_implicit_spa_client(user: &WebUser<'_>) -> (String, Option<String>) {
    user.create_client(&[
        ("client_name", "SPA"),
        ("scope", "profile"),
        ("redirect_uri", REDIRECT_URI),
        ("grant_type", "implicit"),
        ("response_type", "token"),
        ("token_endpoint_auth_method", "none"),
    ])
    .await
}
