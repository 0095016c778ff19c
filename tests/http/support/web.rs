//! A cookie-keeping HTTP client that uses the pages as a browser would
//! (forms with their CSRF token), for tests of headers, CSRF, sessions and
//! redirects that a real browser would hide.

use reqwest::header::HeaderMap;

use super::{TestApp, PASSWORD};

/// One page or redirect.
#[derive(Debug)]
pub struct Page {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body text.
    pub body: String,
}

impl Page {
    /// A header as text ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `Set-Cookie` header that sets the cookie `name` ("" when none).
    pub fn set_cookie(&self, name: &str) -> &str {
        set_cookie(&self.headers, name)
    }

    /// Asserts that the body contains `needle`, showing the body if not.
    #[track_caller]
    pub fn assert_body_contains(&self, needle: &str) {
        assert!(self.body.contains(needle), "{}", self.body);
    }

    /// The `Location` header.
    pub fn location(&self) -> &str {
        self.header("location")
    }

    /// Asserts that the `Location` starts with `prefix`, showing it if not.
    #[track_caller]
    pub fn assert_location_starts_with(&self, prefix: &str) {
        assert!(self.location().starts_with(prefix), "{}", self.location());
    }

    /// The CSRF token of the first form on the page.
    pub fn csrf_token(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self
            .body
            .find(marker)
            .map(|i| i + marker.len())
            .expect("a form with a CSRF token");
        let end = self.body[start..].find('"').expect("end of the token");
        self.body[start..start + end].to_owned()
    }

    /// The text of the element with this id (first match, tags stripped).
    pub fn element_text(&self, id: &str) -> Option<String> {
        let marker = format!("id=\"{id}\"");
        let at = self.body.find(&marker)?;
        let open_end = at + self.body[at..].find('>')? + 1;
        let close = open_end + self.body[open_end..].find("</")?;
        Some(self.body[open_end..close].to_owned())
    }
}

/// The `Set-Cookie` header among `headers` that sets the cookie `name` (""
/// when none).
pub fn set_cookie<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.split_once('=').is_some_and(|(n, _)| n == name))
        .unwrap_or("")
}

/// Settings of a server behind an https issuer, which needs a session key
/// of 64 bytes or more.
pub const HTTPS_ISSUER: &[&str] = &[
    "--issuer",
    "https://auth.example.com",
    "--session-key",
    "a session key of at least sixty-four bytes, as an https issuer requires",
];

/// What the pages show a logged-in user (the home page names them).
pub const LOGGED_IN_MARKER: &str = "id=\"logged-in-as\"";

impl TestApp {
    /// `GET /` with a `Cookie` header of its own (a copied or forged one),
    /// not through a jar and following no redirect.
    pub async fn home_with_cookie(&self, cookie: &str) -> Page {
        page(
            self.http
                .get(self.url("/"))
                .header("Cookie", cookie)
                .send()
                .await
                .expect("GET /"),
        )
        .await
    }

    /// Whether `GET /` with this `Cookie` header shows a logged-in user.
    pub async fn cookie_is_logged_in(&self, cookie: &str) -> bool {
        self.home_with_cookie(cookie)
            .await
            .body
            .contains(LOGGED_IN_MARKER)
    }
}

/// A visitor with a cookie jar.
pub struct WebUser<'a> {
    app: &'a TestApp,
    /// The HTTP client (cookies kept, redirects not followed).
    pub http: reqwest::Client,
    /// The jar, to copy or replay cookies.
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
}

impl<'a> WebUser<'a> {
    /// A new visitor with an empty jar.
    pub fn new(app: &'a TestApp) -> Self {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .build()
            .expect("http client");
        Self { app, http, jar }
    }

    /// A new visitor who has signed up (and so logged in) as `name`.
    pub async fn signed_up(app: &'a TestApp, name: &str) -> Self {
        let visitor = Self::new(app);
        visitor.sign_up(name).await;
        visitor
    }

    /// The address of the server this visitor browses.
    pub fn address(&self) -> &str {
        &self.app.address
    }

    /// The `Cookie` header this visitor sends to the server.
    pub fn cookies(&self) -> String {
        use reqwest::cookie::CookieStore;
        let url = self.app.address.parse().expect("address");
        self.jar
            .cookies(&url)
            .and_then(|v| v.to_str().ok().map(str::to_owned))
            .unwrap_or_default()
    }

    /// GET a path.
    pub async fn get(&self, path: &str) -> Page {
        page(self.http.get(self.app.url(path)).send().await.expect("GET")).await
    }

    /// POST a form as is.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        page(
            self.http
                .post(self.app.url(path))
                .form(form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// GET `form_page`, then POST `form` to `action` with that page's CSRF token.
    pub async fn submit(&self, form_page: &str, action: &str, form: &[(&str, &str)]) -> Page {
        let token = self.get(form_page).await.csrf_token();
        let mut fields = vec![("csrf_token", token.as_str())];
        fields.extend_from_slice(form);
        self.post(action, &fields).await
    }

    /// GET `path`, then POST `form` back to it with that page's CSRF token.
    pub async fn submit_at(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.submit(path, path, form).await
    }

    /// The sign-up form sent for `name` with `password`, whatever the answer.
    pub async fn try_sign_up(&self, name: &str, password: &str) -> Page {
        self.submit_at("/signup", &[("username", name), ("password", password)])
            .await
    }

    /// Signs up (and so logs in) `name` with [`PASSWORD`].
    pub async fn sign_up(&self, name: &str) -> Page {
        let answer = self.try_sign_up(name, PASSWORD).await;
        assert_eq!(answer.status, 303, "sign up: {}", answer.body);
        answer
    }

    /// Logs in `name` with `password`.
    pub async fn log_in(&self, name: &str, password: &str) -> Page {
        self.submit_at("/login", &[("username", name), ("password", password)])
            .await
    }

    /// Whether the home page shows a logged-in user.
    pub async fn is_logged_in(&self) -> bool {
        self.get("/").await.body.contains(LOGGED_IN_MARKER)
    }

    /// Registers a client through the form; returns (client_id, secret).
    pub async fn create_client(&self, fields: &[(&str, &str)]) -> (String, Option<String>) {
        let created = self.submit_at("/create_client", fields).await;
        assert_eq!(created.status, 303, "create client: {}", created.body);
        let path = created.location().to_owned();
        let shown = self.get(&path).await;
        let id = shown
            .element_text("client_id")
            .expect("client_id on the page");
        (id, shown.element_text("client_secret"))
    }
}

async fn page(response: reqwest::Response) -> Page {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    Page {
        status,
        headers,
        body,
    }
}

/// A new user `alice`, signed in, with a code-flow client named `name`
/// registered on the page.
pub async fn signed_in_with_code_client<'a>(
    app: &'a TestApp,
    name: &str,
) -> (WebUser<'a>, super::TestClient) {
    let alice = WebUser::signed_up(app, "alice").await;
    let (id, secret) = alice.create_client(&fields(&code_client_form(name))).await;
    (
        alice,
        super::TestClient {
            id,
            secret: secret.unwrap_or_default(),
        },
    )
}

/// The fields of a code-flow client registration.
pub fn code_client_form(name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_name", name.to_owned()),
        ("client_uri", "https://client.example.com".to_owned()),
        ("scope", "profile email".to_owned()),
        ("redirect_uri", super::REDIRECT_URI.to_owned()),
        ("grant_type", "authorization_code\nrefresh_token".to_owned()),
        ("response_type", "code".to_owned()),
        (
            "token_endpoint_auth_method",
            "client_secret_basic".to_owned(),
        ),
    ]
}

/// The fields of a public implicit-flow client registration (a single-page
/// app).
pub const SPA_CLIENT_FORM: &[(&str, &str)] = &[
    ("client_name", "SPA"),
    ("scope", "profile"),
    ("redirect_uri", super::REDIRECT_URI),
    ("grant_type", "implicit"),
    ("response_type", "token"),
    ("token_endpoint_auth_method", "none"),
];

/// The query of an implicit authorization request for `client_id`.
pub fn implicit_authorize_query(client_id: &str) -> String {
    format!(
        "/oauth/authorize?response_type=token&client_id={client_id}&redirect_uri={}&state=imp",
        encode(super::REDIRECT_URI)
    )
}

/// Borrowed view of owned form fields.
pub fn fields<'a>(owned: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    owned.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The query of an authorization request with PKCE for `client_id`.
pub fn authorize_query(client_id: &str, extra: &str) -> String {
    let challenge = domain::pkce::CodeChallenge::s256_of(super::VERIFIER);
    format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=profile&state=st-1&code_challenge={challenge}&code_challenge_method=S256{extra}",
        encode(super::REDIRECT_URI)
    )
}

/// Percent-encodes a query component.
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
