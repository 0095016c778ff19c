//! The server under test: a real `Application` on 127.0.0.1 with a port of
//! its own and a database of its own (a fresh SQLite file, or a fresh
//! PostgreSQL database created from `TEST_DATABASE_URL`), plus fixtures.

pub mod browser;
pub mod chaos;
pub mod db;
pub mod openid;
pub mod token_requests;
pub mod web;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use reqwest::header::HeaderMap;
use serde_json::Value;

use adapters::system::SystemClock;
use app::cli::Cli;
use app::startup::{build_services_with, Application};
use domain::client::RegistrationInput;
use domain::params::Params;
use domain::pkce::CodeChallenge;
use domain::service::Services;
use domain::testing::SettableClock;
use domain::user::User;

pub use db::Backend;

/// A password every fixture user has.
pub const PASSWORD: &str = "correct horse battery";
/// A redirect URI the fixture clients register.
pub const REDIRECT_URI: &str = "https://client.example.com/cb";
/// The post-logout redirect URI of every test client.
pub const POST_LOGOUT_REDIRECT_URI: &str = "https://client.example.com/signed-out";
/// A PKCE verifier and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// A running server and a way to reach it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// `http://127.0.0.1:PORT` of the metrics listener, with `--metrics-bind`.
    pub metrics_address: Option<String>,
    /// A client that follows no redirects and keeps no cookies.
    pub http: reqwest::Client,
    /// The same use cases as the server, over the same database.
    pub services: Services,
    /// The database the server runs on.
    pub backend: Backend,
    /// The URL of that database (`sqlite://PATH` or `postgres://…`).
    pub database_url: String,
    /// The clock of the server and of `services`: move it with
    /// [`TestApp::advance`].
    pub clock: Arc<SettableClock>,
    _db: db::TestDatabase,
}

/// A registered client and its secret in clear.
#[derive(Debug, Clone)]
pub struct TestClient {
    /// `client_id`.
    pub id: String,
    /// `client_secret` (empty for public clients).
    pub secret: String,
}

impl TestClient {
    /// The same client id with another secret: a client that fails to
    /// authenticate.
    pub fn with_secret(&self, secret: &str) -> TestClient {
        TestClient {
            id: self.id.clone(),
            secret: secret.to_owned(),
        }
    }
}

/// A token endpoint answer: status, headers and JSON body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// JSON body (`Value::Null` when not JSON).
    pub body: Value,
}

impl Answer {
    /// The `error` member.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    /// A string member.
    pub fn str(&self, name: &str) -> &str {
        self.body[name].as_str().unwrap_or("")
    }

    /// The `access_token` and `refresh_token` members, owned.
    pub fn pair(&self) -> (String, String) {
        (
            self.str("access_token").to_owned(),
            self.str("refresh_token").to_owned(),
        )
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the status and the `error` member together.
    #[track_caller]
    pub fn assert_error(&self, status: u16, error: &str) {
        self.assert_error_for(status, error, "");
    }

    /// [`Answer::assert_error`] for one of several cases, named in the
    /// failure.
    #[track_caller]
    pub fn assert_error_for(&self, status: u16, error: &str, case: &str) {
        assert_eq!(
            (self.status, self.error()),
            (status, error),
            "{case}: {:?}",
            self.body
        );
    }
}

/// The key-encryption key of the test servers (64 hex digits).
pub const TEST_KEY_ENCRYPTION_KEY: &str =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// Starts the server on `backend` with extra command-line settings.
pub async fn spawn_app_with(backend: Backend, settings: &[&str]) -> TestApp {
    spawn_app_reaching_database_at(backend, settings, |url| url.to_owned()).await
}

/// Starts the server on `backend`, reaching its database through the URL
/// that `server_url` makes of the real one (e.g. through a proxy); the
/// test's own services use the real URL.
pub async fn spawn_app_reaching_database_at(
    backend: Backend,
    settings: &[&str],
    server_url: impl FnOnce(&str) -> String,
) -> TestApp {
    let database = db::TestDatabase::create(backend);
    let server_database_url = server_url(database.url());
    let mut args = vec![
        "oauth2-server",
        "--database-url",
        &server_database_url,
        "--bind",
        "127.0.0.1:0",
        "--bcrypt-cost",
        "4",
        "--pool-size",
        "4",
    ];
    // PostgreSQL has no key file beside the database: the signing keys
    // need a configured key-encryption key (unless a test sets its own).
    if !settings.contains(&"--key-encryption-key") {
        args.extend_from_slice(&["--key-encryption-key", TEST_KEY_ENCRYPTION_KEY]);
    }
    args.extend_from_slice(settings);
    let cli = Cli::try_parse_from(&args).expect("test settings parse");
    let clock = Arc::new(SettableClock::over(Arc::new(SystemClock)));
    let application =
        Application::build_with(&cli.config, clock.clone()).expect("the application starts");
    let address = format!("http://127.0.0.1:{}", application.port());
    let metrics_address = application
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    let mut own = cli.config.clone();
    own.database_url = database.url().into();
    let (services, _) = build_services_with(&own, application.issuer().to_owned(), clock.clone())
        .expect("services");
    tokio::spawn(application.run_until_stopped());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    TestApp {
        address,
        metrics_address,
        http,
        services,
        backend,
        database_url: database.url().to_owned(),
        clock,
        _db: database,
    }
}

impl TestApp {
    /// Moves the server's clock forward by `by`: what expires or leaves a
    /// window after `by` has done so, without waiting.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Creates a user with [`PASSWORD`].
    pub fn user(&self, name: &str) -> User {
        self.services
            .sign_up(name, PASSWORD)
            .unwrap_or_else(|e| panic!("sign up {name}: {e:?}"))
    }

    /// Registers a client owned by `owner`.
    pub fn client(&self, owner: &User, grants: &[&str], scope: &str, method: &str) -> TestClient {
        let code_flow = grants.contains(&"authorization_code");
        let implicit = grants.contains(&"implicit");
        let mut response_types = Vec::new();
        if code_flow {
            response_types.push("code".to_owned());
        }
        if implicit {
            response_types.push("token".to_owned());
        }
        let input = RegistrationInput {
            client_name: "Test app".to_owned(),
            client_uri: "https://client.example.com".to_owned(),
            redirect_uris: vec![REDIRECT_URI.to_owned()],
            grant_types: grants.iter().map(|g| (*g).to_owned()).collect(),
            response_types,
            scope: scope.to_owned(),
            token_endpoint_auth_method: method.to_owned(),
            post_logout_redirect_uris: vec![POST_LOGOUT_REDIRECT_URI.to_owned()],
            ..RegistrationInput::default()
        };
        self.register(owner, &input)
    }

    /// Registers a client owned by `owner`, as `input` describes.
    pub fn register(&self, owner: &User, input: &RegistrationInput) -> TestClient {
        let created = self
            .services
            .register_client(&owner.id, input)
            .unwrap_or_else(|e| panic!("register client: {e:?}"));
        TestClient {
            id: created.client.id.to_string(),
            secret: created
                .secret
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
        }
    }

    /// A user `name` (see [`TestApp::user`]) and a [`TestApp::full_client`]
    /// of theirs.
    pub fn user_with_client(&self, name: &str) -> (User, TestClient) {
        let user = self.user(name);
        let client = self.full_client(&user);
        (user, client)
    }

    /// A user `alice`, a [`TestApp::full_client`] of hers and a password
    /// grant of hers by it, with `scope`.
    pub async fn alice_tokens(&self, scope: Option<&str>) -> (User, TestClient, Answer) {
        let alice = self.user("alice");
        let client = self.full_client(&alice);
        let tokens = self.password_tokens(&client, "alice", scope).await;
        (alice, client, tokens)
    }

    /// The access token of a password grant of `alice` (see
    /// [`TestApp::alice_tokens`]).
    pub async fn alice_access_token(&self, scope: Option<&str>) -> String {
        let (_, _, tokens) = self.alice_tokens(scope).await;
        tokens.str("access_token").to_owned()
    }

    /// A confidential (Basic) client with every grant but implicit.
    pub fn full_client(&self, owner: &User) -> TestClient {
        self.client(
            owner,
            &[
                "authorization_code",
                "password",
                "client_credentials",
                "refresh_token",
            ],
            "profile email",
            "client_secret_basic",
        )
    }

    /// Client `id` as stored, read as the administrator.
    pub fn stored_client(&self, id: &str) -> domain::client::Client {
        self.services
            .client_for(domain::service::clients::Actor::Admin, id)
            .expect("the store answers")
            .unwrap_or_else(|| panic!("client {id} is stored"))
    }

    /// The grant types of client `id` as stored, in order.
    pub fn stored_grants(&self, id: &str) -> Vec<String> {
        self.stored_client(id)
            .metadata
            .grant_types
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect()
    }

    /// `GET path`, no redirect followed.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// `GET path` on the metrics listener (started with `--metrics-bind`).
    pub async fn get_on_metrics_listener(&self, path: &str) -> reqwest::Response {
        let metrics = self
            .metrics_address
            .as_deref()
            .expect("started with --metrics-bind");
        self.http
            .get(format!("{metrics}{path}"))
            .send()
            .await
            .expect("request sent")
    }

    /// An authorization code for `client` approved by `user`, through the
    /// same authorization use case the consent page calls.
    pub fn code(&self, client: &TestClient, user: &User, scope: Option<&str>) -> String {
        let challenge = CodeChallenge::s256_of(VERIFIER);
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("state", "xyz"),
        ];
        if let Some(scope) = scope {
            pairs.push(("scope", scope));
        }
        let request = self
            .services
            .validate_authorization(&Params::from_pairs(pairs))
            .unwrap_or_else(|e| panic!("authorization request: {e:?}"));
        let response = self
            .services
            .approve_authorization(&request, &user.id, &Default::default())
            .unwrap_or_else(|e| panic!("approval: {e:?}"));
        response.param("code").expect("a code").to_owned()
    }

    /// POSTs a form to `path`, optionally with Basic credentials.
    pub async fn post_form(
        &self,
        path: &str,
        basic: Option<&TestClient>,
        form: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.http.post(self.url(path)).form(form);
        if let Some(client) = basic {
            request = request.basic_auth(&client.id, Some(&client.secret));
        }
        answer(request.send().await.expect("request sent")).await
    }

    /// POSTs a revocation request (RFC 7009).
    pub async fn revoke(&self, basic: Option<&TestClient>, form: &[(&str, &str)]) -> Answer {
        self.post_form("/oauth/revoke", basic, form).await
    }

    /// POSTs an introspection request (RFC 7662).
    pub async fn introspect(&self, basic: Option<&TestClient>, form: &[(&str, &str)]) -> Answer {
        self.post_form("/oauth/introspect", basic, form).await
    }

    /// Sends `method` to `path` with Basic credentials and no body.
    pub async fn send_with_basic(
        &self,
        method: reqwest::Method,
        path: &str,
        client: &TestClient,
    ) -> reqwest::Response {
        self.http
            .request(method, self.url(path))
            .basic_auth(&client.id, Some(&client.secret))
            .send()
            .await
            .expect("request sent")
    }

    /// POSTs a token request.
    pub async fn token(&self, basic: Option<&TestClient>, form: &[(&str, &str)]) -> Answer {
        self.post_form("/oauth/token", basic, form).await
    }

    /// A client-credentials grant by a Basic client.
    pub async fn client_credentials(&self, client: &TestClient) -> Answer {
        self.token(Some(client), &[("grant_type", "client_credentials")])
            .await
    }

    /// A password grant for `user` by a Basic client; panics unless 200.
    pub async fn password_tokens(
        &self,
        client: &TestClient,
        username: &str,
        scope: Option<&str>,
    ) -> Answer {
        let mut form = vec![
            ("grant_type", "password"),
            ("username", username),
            ("password", PASSWORD),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        let answer = self.token(Some(client), &form).await;
        assert_eq!(answer.status, 200, "password grant: {:?}", answer.body);
        answer
    }

    /// Redeems a code with the fixture redirect URI and verifier.
    pub async fn redeem(&self, client: &TestClient, code: &str) -> Answer {
        self.token(
            Some(client),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
            ],
        )
        .await
    }

    /// Refreshes with a Basic client.
    pub async fn refresh(&self, client: &TestClient, refresh_token: &str) -> Answer {
        self.token(
            Some(client),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// Refreshes with a Basic client: the status.
    pub async fn refresh_status(&self, client: &TestClient, refresh_token: &str) -> u16 {
        self.refresh(client, refresh_token).await.status
    }

    /// Refreshes with a Basic client, asking for `scope`.
    pub async fn refresh_with_scope(
        &self,
        client: &TestClient,
        refresh_token: &str,
        scope: &str,
    ) -> Answer {
        self.token(
            Some(client),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("scope", scope),
            ],
        )
        .await
    }

    /// `GET /api/me` with an `Authorization` header value.
    pub async fn me(&self, authorization: Option<&str>) -> Answer {
        let mut request = self.http.get(self.url("/api/me"));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        answer(request.send().await.expect("request sent")).await
    }

    /// `GET /api/me` with a bearer token.
    pub async fn me_bearer(&self, access_token: &str) -> Answer {
        self.me(Some(&format!("Bearer {access_token}"))).await
    }

    /// `GET /api/me` with an `Authorization` header of raw bytes.
    pub async fn me_with_raw_authorization(
        &self,
        value: reqwest::header::HeaderValue,
    ) -> reqwest::Response {
        self.http
            .get(self.url("/api/me"))
            .header("Authorization", value)
            .send()
            .await
            .expect("request sent")
    }

    /// Asserts that `GET /api/me` answers 4xx to each of these
    /// `Authorization` headers (RFC 6750 §2.1 syntax).
    pub async fn assert_me_refuses_headers(&self, headers: &[&str]) {
        for header in headers {
            let me = self.me(Some(header)).await;
            assert!(
                (400..500).contains(&me.status),
                "{header:.20}: {}",
                me.status
            );
        }
    }

    /// `GET /api/me` with a bearer token: the status.
    pub async fn me_status(&self, access_token: &str) -> u16 {
        self.me_bearer(access_token).await.status
    }
}

/// Sends `request`: the status.
pub async fn status_of(request: reqwest::RequestBuilder) -> u16 {
    request
        .send()
        .await
        .expect("request sent")
        .status()
        .as_u16()
}

/// Reads a response into an [`Answer`].
pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

/// The `Content-Type` of a response as text ("" when absent).
pub fn content_type(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The entropy of a base64url secret: 6 bits a character (asserts that it is
/// base64url).
pub fn base64url_bits(value: &str) -> usize {
    assert!(
        value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{value}"
    );
    value.len() * 6
}

/// The query (or fragment) parameters of a `Location`.
pub fn location_params(location: &str) -> HashMap<String, String> {
    let url = url::Url::parse(location).expect("absolute Location");
    let mut params: HashMap<String, String> = url.query_pairs().into_owned().collect();
    if let Some(fragment) = url.fragment() {
        params.extend(url::form_urlencoded::parse(fragment.as_bytes()).into_owned());
    }
    params
}

/// Runs each listed test, a module-level `async fn NAME(app: TestApp)`, once
/// on SQLite and once on PostgreSQL, as the tests `NAME::sqlite` and
/// `NAME::postgres` (the latter ignored, with the reason, when
/// `TEST_DATABASE_URL` was not set at build time). The bodies are plain
/// functions so that rustfmt formats them.
///
/// ```ignore
/// both_backends![a_rule_holds, another_rule_holds];
/// both_backends!(settings = &["--code-ttl", "60"], a_code_expires);
/// ```
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        $crate::both_backends!(settings = &[], $($name),+);
    };
    (settings = $settings:expr, $($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::support::spawn_app_with($crate::support::Backend::Sqlite, $settings).await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(pg_tests), ignore = "set TEST_DATABASE_URL to run on PostgreSQL")]
                async fn postgres() {
                    super::$name($crate::support::spawn_app_with($crate::support::Backend::Postgres, $settings).await).await;
                }
            }
        )+
    };
}
