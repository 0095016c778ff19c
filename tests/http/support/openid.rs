//! A real OpenID Connect relying party, the `openidconnect` crate, configured
//! from the issuer URL alone (Discovery 1.0 §4), and a browser that signs in
//! and consents through the server's own pages.
//!
//! What the server's side does not fix in the shared contract is kept in
//! one place each, marked `ADAPT AT MERGE`:
//! - [`OPENID_SETTINGS`]: settings every instance needs (e.g. the key that
//!   encrypts the signing keys at rest, so two instances read each other's
//!   keys);
//! - [`openid_client`]: clients are made with `oauth2-server client create`
//!   (issue 13 item 9 names `--post-logout-redirect-uri` and
//!   `--id-token-alg`);
//! - [`rotate_signing_keys`]: `oauth2-server keys rotate` (item 4), and how
//!   long the running server takes to publish and sign with the new key
//!   ([`ROTATION_STEP`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreIdToken,
    CoreIdTokenClaims, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreResponseType, CoreTokenResponse,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, JsonWebKeySetUrl, Nonce, NonceVerifier,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadataWithLogout,
    RedirectUrl, Scope, TokenResponse,
};

use domain::ports::Clock;
use domain::service::clients::Actor;
use domain::testing::SettableClock;
use domain::user::User;

use super::web::WebUser;
use super::{location_params, TestApp, TestClient, PASSWORD, REDIRECT_URI};

/// ADAPT AT MERGE: settings that every instance of these tests starts with,
/// and that the CLI commands below pass too (they open the same database and
/// keys): a session key shared by the instances, as SESSION_KEY is in a
/// deployment of several; add the keys' settings here if they need any.
pub const OPENID_SETTINGS: &[&str] = &[
    "--session-key",
    "a session key of at least sixty-four bytes, shared by both instances of a test",
    "--key-encryption-key",
    super::TEST_KEY_ENCRYPTION_KEY,
];

/// ADAPT AT MERGE: after `keys rotate`, the tests move the server's clock
/// by this step at a time, [`ROTATION_MAX_STEPS`] times at most, until the
/// new key is published and then until it signs (issue 13 item 4: a new key
/// is published before it signs). 20 minutes in all: under the ID tokens'
/// default hour, so that the tokens signed before are still alive.
pub const ROTATION_STEP: Duration = Duration::from_secs(60);

/// See [`ROTATION_STEP`].
pub const ROTATION_MAX_STEPS: usize = 20;

/// The scope of a full OpenID sign-in (Core §5.4, §11).
pub const OPENID_SCOPE: &[&str] = &["profile", "email"];

/// A post-logout redirect URI that [`openid_client`] can register.
pub const POST_LOGOUT_URI: &str = "https://client.example.com/logged-out";

/// The client as the library builds it from discovery: authorization URL
/// set, token and UserInfo URLs "maybe set" (they are optional in
/// Discovery 1.0 §3).
pub type LibraryClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// An authentication request as the library builds it, for the tests to add
/// `prompt`, `max_age` and the like.
pub type AuthRequest<'a> =
    openidconnect::AuthorizationRequest<'a, CoreAuthDisplay, CoreAuthPrompt, CoreResponseType>;

/// The issuer identifier of `app` as the relying party is configured with
/// it: the server's address, nothing else.
pub fn issuer_of(app: &TestApp) -> IssuerUrl {
    IssuerUrl::new(app.address.clone()).expect("the issuer is a URL")
}

/// The provider's metadata and keys, found from its issuer URL alone.
pub async fn discover(app: &TestApp) -> ProviderMetadataWithLogout {
    ProviderMetadataWithLogout::discover_async(issuer_of(app), &app.http)
        .await
        .unwrap_or_else(|e| panic!("discovery from {}: {e:?}", app.address))
}

/// A relying party: the library's client for one registered client, plus
/// the provider metadata it was built from.
pub struct RelyingParty {
    /// The library's client.
    pub client: LibraryClient,
    /// What discovery returned (with the end-session endpoint).
    pub metadata: ProviderMetadataWithLogout,
    /// The registered client.
    pub registered: TestClient,
    http: reqwest::Client,
    clock: Arc<SettableClock>,
}

/// An authentication request sent, with what the relying party keeps to
/// check the answer.
pub struct Pending {
    /// The authorization URL the browser is sent to.
    pub url: url::Url,
    /// The `state` sent.
    pub state: CsrfToken,
    /// The `nonce` sent.
    pub nonce: Nonce,
    /// The PKCE verifier of the challenge sent.
    pub verifier: String,
}

/// A completed sign-in: the token response and its verified ID token claims.
pub struct SignedIn {
    /// The token endpoint's answer.
    pub tokens: CoreTokenResponse,
    /// The ID token's claims, verified by the library.
    pub claims: CoreIdTokenClaims,
    /// The nonce sent.
    pub nonce: Nonce,
}

impl SignedIn {
    /// The ID token.
    pub fn id_token(&self) -> &CoreIdToken {
        self.tokens.id_token().expect("an ID token")
    }
}

impl RelyingParty {
    /// A relying party for `registered`, configured by discovery of `app`.
    pub async fn discover(app: &TestApp, registered: &TestClient) -> Self {
        let metadata = discover(app).await;
        let secret =
            (!registered.secret.is_empty()).then(|| ClientSecret::new(registered.secret.clone()));
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(registered.id.clone()),
            secret,
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).expect("redirect URI"));
        Self {
            client,
            metadata,
            registered: registered.clone(),
            http: app.http.clone(),
            clock: app.clock.clone(),
        }
    }

    /// The library's ID token verifier (issuer, audience, the provider's
    /// JWKS and advertised algorithms), with the current time taken from the
    /// server's clock, which tests move forward.
    pub fn verifier(&self) -> CoreIdTokenVerifier<'_> {
        self.client
            .id_token_verifier()
            .set_time_fn(clock_now(self.clock.clone()))
    }

    /// The same checks with another key set (e.g. another instance's JWKS).
    pub fn verifier_with_keys(&self, keys: CoreJsonWebKeySet) -> CoreIdTokenVerifier<'_> {
        let algs = self
            .metadata
            .id_token_signing_alg_values_supported()
            .clone();
        CoreIdTokenVerifier::new_confidential_client(
            ClientId::new(self.registered.id.clone()),
            ClientSecret::new(self.registered.secret.clone()),
            self.metadata.issuer().clone(),
            keys,
        )
        .set_allowed_algs(algs)
        .set_time_fn(clock_now(self.clock.clone()))
    }

    /// An authorization-code request with PKCE (S256), a nonce, `openid`
    /// (the library adds it) and `scopes`, changed by `customize`.
    pub fn authorization(
        &self,
        scopes: &[&str],
        customize: impl for<'a> FnOnce(AuthRequest<'a>) -> AuthRequest<'a>,
    ) -> Pending {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let request = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scopes(scopes.iter().map(|s| Scope::new((*s).to_owned())))
            .set_pkce_challenge(challenge);
        let (url, state, nonce) = customize(request).url();
        Pending {
            url,
            state,
            nonce,
            verifier: verifier.secret().clone(),
        }
    }

    /// Redeems the code of `callback` (after checking its `state` and `iss`)
    /// through the library; panics on an error.
    pub async fn exchange(
        &self,
        pending: &Pending,
        callback: &HashMap<String, String>,
    ) -> CoreTokenResponse {
        assert_eq!(
            callback.get("state"),
            Some(pending.state.secret()),
            "{callback:?}"
        );
        assert_eq!(
            callback.get("iss").map(String::as_str),
            Some(self.metadata.issuer().as_str()),
            "RFC 9207 iss: {callback:?}"
        );
        let code = callback
            .get("code")
            .unwrap_or_else(|| panic!("a code in {callback:?}"));
        self.client
            .exchange_code(AuthorizationCode::new(code.clone()))
            .expect("a token endpoint in the metadata")
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
            .request_async(&self.http)
            .await
            .unwrap_or_else(|e| panic!("code exchange: {e:?}"))
    }

    /// Verifies the ID token of `tokens` with the library (signature against
    /// the JWKS, iss, aud, exp, nonce) and its `at_hash` (Core §3.1.3.6,
    /// §3.1.3.8); panics on a failure.
    pub fn verified(
        &self,
        tokens: &CoreTokenResponse,
        nonce: impl NonceVerifier,
    ) -> CoreIdTokenClaims {
        let id_token = tokens
            .id_token()
            .unwrap_or_else(|| panic!("an ID token in {tokens:?}"));
        let verifier = self.verifier();
        let claims = id_token
            .claims(&verifier, nonce)
            .unwrap_or_else(|e| panic!("the library refuses the ID token: {e:?}"))
            .clone();
        self.assert_at_hash(tokens);
        claims
    }

    /// Asserts that the ID token's `at_hash` is the library's hash of the
    /// access token, with the hash of the token's algorithm and key.
    #[track_caller]
    pub fn assert_at_hash(&self, tokens: &CoreTokenResponse) {
        let id_token = tokens.id_token().expect("an ID token");
        let verifier = self.verifier();
        let alg = id_token.signing_alg().expect("a signed ID token");
        let key = id_token
            .signing_key(&verifier)
            .expect("a published key that signed the ID token");
        let expected = AccessTokenHash::from_token(tokens.access_token(), alg, key)
            .expect("a hash for the algorithm");
        let claims = id_token
            .claims(&verifier, |_: Option<&Nonce>| Ok(()))
            .expect("a valid ID token");
        assert_eq!(claims.access_token_hash(), Some(&expected), "at_hash");
    }

    /// Refreshes with the refresh token of `tokens` through the library.
    pub async fn refresh(&self, tokens: &CoreTokenResponse) -> CoreTokenResponse {
        let refresh_token = tokens
            .refresh_token()
            .unwrap_or_else(|| panic!("a refresh token in {tokens:?}"));
        self.client
            .exchange_refresh_token(refresh_token)
            .expect("a token endpoint in the metadata")
            .request_async(&self.http)
            .await
            .unwrap_or_else(|e| panic!("refresh: {e:?}"))
    }

    /// Verifies the ID token of a refresh answer: the checks of
    /// [`RelyingParty::verified`], with Core §12.2's rule for `nonce` (none,
    /// or the original one).
    pub fn verified_refresh(
        &self,
        tokens: &CoreTokenResponse,
        original: &Nonce,
    ) -> CoreIdTokenClaims {
        let original = original.clone();
        self.verified(tokens, move |nonce: Option<&Nonce>| match nonce {
            None => Ok(()),
            Some(nonce) if nonce.secret() == original.secret() => Ok(()),
            Some(other) => Err(format!(
                "a refreshed ID token with another nonce: {other:?}"
            )),
        })
    }

    /// The whole code flow: the browser goes to the authorization endpoint
    /// with `scopes` (plus `customize`), signs in as `username` if asked,
    /// consents if asked; the relying party redeems the code and verifies
    /// the ID token.
    pub async fn sign_in(
        &self,
        browser: &WebUser<'_>,
        username: &str,
        scopes: &[&str],
        customize: impl for<'a> FnOnce(AuthRequest<'a>) -> AuthRequest<'a>,
    ) -> SignedIn {
        let pending = self.authorization(scopes, customize);
        let callback = through_the_pages(browser, &pending.url, username).await;
        let tokens = self.exchange(&pending, &callback).await;
        let claims = self.verified(&tokens, &pending.nonce);
        SignedIn {
            tokens,
            claims,
            nonce: pending.nonce,
        }
    }
}

fn clock_now(
    clock: Arc<SettableClock>,
) -> impl Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync {
    move || clock.now().as_naive_utc().and_utc()
}

/// The path and query of `url` on the server (the browser helper takes
/// paths).
fn local(url: &str, address: &str) -> String {
    url.strip_prefix(address).unwrap_or(url).to_owned()
}

/// The browser at `url` (the authorization endpoint), as a person would:
/// follows the server's redirects, signs in as `username` (with
/// [`PASSWORD`]) on a login page, approves on a consent page, until the
/// server redirects to the client: the parameters of that redirect.
pub async fn through_the_pages(
    browser: &WebUser<'_>,
    url: &url::Url,
    username: &str,
) -> HashMap<String, String> {
    let address = browser.address().to_owned();
    let mut path = local(url.as_str(), &address);
    for _ in 0..8 {
        let page = browser.get(&path).await;
        let answer = if page.body.contains("id=\"login\"") {
            let token = page.csrf_token();
            browser
                .post(
                    &path,
                    &[
                        ("csrf_token", token.as_str()),
                        ("username", username),
                        ("password", PASSWORD),
                    ],
                )
                .await
        } else if page.body.contains("id=\"consent\"") {
            let token = page.csrf_token();
            browser
                .post(&path, &[("csrf_token", token.as_str()), ("confirm", "yes")])
                .await
        } else {
            page
        };
        match answer.status {
            302 | 303 if answer.location().starts_with(REDIRECT_URI) => {
                return location_params(answer.location());
            }
            302 | 303 => path = local(answer.location(), &address),
            status => panic!("{status} at {path}: {}", answer.body),
        }
    }
    panic!("no redirect to the client after 8 pages")
}

/// The browser at `url` for an answer without any page (`prompt=none`,
/// Core §3.1.2.1): the parameters of the server's redirect to the client.
pub async fn without_interaction(browser: &WebUser<'_>, url: &url::Url) -> HashMap<String, String> {
    let address = browser.address().to_owned();
    let answer = browser.get(&local(url.as_str(), &address)).await;
    assert!(
        matches!(answer.status, 302 | 303) && answer.location().starts_with(REDIRECT_URI),
        "a redirect to the client, no page: {} {} {}",
        answer.status,
        answer.location(),
        answer.body
    );
    location_params(answer.location())
}

/// Whether the home page of the instance at `address` shows `browser` as
/// signed in (the browser's cookies go to every port of 127.0.0.1).
pub async fn logged_in_at(browser: &WebUser<'_>, address: &str) -> bool {
    browser
        .http
        .get(format!("{address}/"))
        .send()
        .await
        .expect("GET /")
        .text()
        .await
        .unwrap_or_default()
        .contains(super::web::LOGGED_IN_MARKER)
}

/// The JWKS at `address` (an instance), as a relying party fetches it.
pub async fn jwks_at(app: &TestApp, address: &str) -> CoreJsonWebKeySet {
    let url = JsonWebKeySetUrl::new(format!("{address}/.well-known/jwks.json")).expect("a URL");
    CoreJsonWebKeySet::fetch_async(&url, &app.http)
        .await
        .unwrap_or_else(|e| panic!("JWKS at {address}: {e:?}"))
}

/// The `kid` of an ID token's header.
pub fn kid_of(id_token: &CoreIdToken) -> String {
    use base64::Engine;
    let text = id_token.to_string();
    let header = text.split('.').next().expect("a header");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url");
    let header: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
    header["kid"].as_str().unwrap_or("").to_owned()
}

/// Runs the command line `oauth2-server --database-url URL … args` on the
/// database of `app`, as the operator would.
pub async fn run_cli(app: &TestApp, args: &[&str]) {
    let mut line = vec!["oauth2-server", "--database-url", &app.database_url];
    line.extend_from_slice(OPENID_SETTINGS);
    line.extend_from_slice(args);
    let cli = app::cli::Cli::try_parse_from(&line)
        .unwrap_or_else(|e| panic!("command line {args:?}: {e}"));
    app::cli::run(cli)
        .await
        .unwrap_or_else(|e| panic!("command {args:?}: {e:#}"));
}

/// A user `name` with [`PASSWORD`], an e-mail address and a display name.
pub fn openid_user(app: &TestApp, name: &str) -> User {
    let user = app.user(name);
    app.services
        .set_email(&user.id, Some(&format!("{name}@example.com")), true)
        .expect("set e-mail");
    app.services
        .set_display_name(&user.id, Some(&format!("{name} Example")))
        .expect("set name");
    user
}

/// ADAPT AT MERGE: a confidential (`client_secret_basic`), trusted
/// code-flow client of `owner` that may ask for `openid profile email
/// offline_access`, made with `oauth2-server client create` plus `extra`
/// arguments (`--post-logout-redirect-uri`, `--id-token-alg`); its secret is
/// then rotated, since the command prints the first one only.
pub async fn openid_client(app: &TestApp, owner: &User, extra: &[&str]) -> TestClient {
    let name = format!(
        "RP {}",
        app.services.clients_of(&owner.id).map_or(0, |c| c.len())
    );
    let mut args = vec![
        "client",
        "create",
        "--owner",
        owner.username.as_str(),
        "--name",
        &name,
        "--uri",
        "https://client.example.com",
        "--redirect-uri",
        REDIRECT_URI,
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--grant-type",
        "password",
        "--response-type",
        "code",
        "--scope",
        "openid profile email offline_access",
    ];
    args.extend_from_slice(extra);
    run_cli(app, &args).await;
    let created = app
        .services
        .clients_of(&owner.id)
        .expect("the store answers")
        .into_iter()
        .find(|c| c.metadata.client_name == name)
        .expect("the client just created");
    let id = created.id.to_string();
    let rotated = app
        .services
        .rotate_client_secret(Actor::Admin, &id)
        .expect("the store answers")
        .expect("a confidential client");
    TestClient {
        id,
        secret: rotated
            .secret
            .map(|s| s.expose().to_owned())
            .unwrap_or_default(),
    }
}

/// ADAPT AT MERGE: rotates the signing keys with `oauth2-server keys
/// rotate` and waits until the running server publishes a key it did not
/// publish before: polls its JWKS 4 times a second, 10 s at most in real
/// time (for a reload on a timer), moving the clock by [`ROTATION_STEP`]
/// every second (for a reload measured on the server's clock).
pub async fn rotate_signing_keys(app: &TestApp) {
    let before = key_ids(&jwks_at(app, &app.address).await);
    run_cli(app, &["keys", "rotate"]).await;
    for attempt in 0..40 {
        if key_ids(&jwks_at(app, &app.address).await)
            .iter()
            .any(|k| !before.contains(k))
        {
            return;
        }
        if attempt % 4 == 3 && attempt / 4 < ROTATION_MAX_STEPS {
            app.advance(ROTATION_STEP);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("no new key published within 10 s of `keys rotate` (before: {before:?})");
}

/// The `kid`s of a key set.
pub fn key_ids(keys: &CoreJsonWebKeySet) -> Vec<String> {
    use openidconnect::JsonWebKey;
    keys.keys()
        .iter()
        .filter_map(|k| k.key_id().map(|id| id.as_str().to_owned()))
        .collect()
}

/// A second instance of the server on the database of `app`, with the same
/// issuer (as behind one load balancer), settings and clock: its address.
pub async fn second_instance(app: &TestApp) -> String {
    let mut args = vec![
        "oauth2-server",
        "--database-url",
        &app.database_url,
        "--bind",
        "127.0.0.1:0",
        "--bcrypt-cost",
        "4",
        "--pool-size",
        "4",
        "--issuer",
        &app.address,
    ];
    args.extend_from_slice(OPENID_SETTINGS);
    let cli = app::cli::Cli::try_parse_from(&args).expect("settings parse");
    let instance = app::startup::Application::build_with(&cli.config, app.clock.clone())
        .expect("the second instance starts");
    let address = format!("http://127.0.0.1:{}", instance.port());
    tokio::spawn(instance.run_until_stopped());
    address
}
