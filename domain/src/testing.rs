//! In-memory implementations of the ports, a settable clock, a predictable
//! random source and sample records: the fakes of the unit tests, and the
//! executable specification that the Diesel repositories are held to.

#![allow(clippy::missing_panics_doc)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::client::{AuthMethod, Client, ClientMetadata, GrantType, ResponseType};
use crate::code::AuthorizationCode;
use crate::error::StoreError;
use crate::ids::{ClientId, FamilyId, TokenId, UserId};
use crate::pkce::CodeChallenge;
use crate::ports::{
    ClientRepository, Clock, CodeRedemption, CodeRepository, GrantSummary, PasswordHasher,
    Rotation, SecureRandom, SessionRepository, TokenRepository, UserRepository, WithinQuota,
};
use crate::redirect_uri::RedirectUri;
use crate::scope::Scope;
use crate::secret::SecretDigest;
use crate::time::Timestamp;
use crate::token::{NewTokens, TokenKind, TokenRecord};
use crate::user::{DisplayName, EmailAddress, PasswordHash, User, Username};

/// The instant `secs` seconds after 2026-01-01T00:00:00Z.
#[must_use]
pub fn t(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_767_225_600 + secs).unwrap_or_else(|| unreachable!())
}

/// A clock that says what it is told.
#[derive(Debug)]
pub struct FixedClock(Mutex<Timestamp>);

impl FixedClock {
    /// A clock at `now`.
    #[must_use]
    pub fn at(now: Timestamp) -> Self {
        Self(Mutex::new(now))
    }

    /// Moves the clock to `now`.
    pub fn set(&self, now: Timestamp) {
        *lock(&self.0) = now;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *lock(&self.0)
    }
}

/// A random source that never repeats: a counter spread over the buffer.
#[derive(Debug, Default)]
pub struct CountingRandom(AtomicU64);

impl SecureRandom for CountingRandom {
    fn fill_bytes(&self, buf: &mut [u8]) {
        let n = self.0.fetch_add(1, Ordering::Relaxed).to_le_bytes();
        for (i, byte) in buf.iter_mut().enumerate() {
            *byte = n.get(i % 8).copied().unwrap_or(0) ^ (i as u8).wrapping_mul(31);
        }
    }
}

/// A fast, insecure hasher for tests: the "hash" is the password, prefixed.
#[derive(Debug, Default)]
pub struct PlainHasher;

impl PasswordHasher for PlainHasher {
    fn hash(&self, password: &str) -> Result<PasswordHash, StoreError> {
        Ok(PasswordHash::new(format!("plain:{password}")))
    }

    fn verify(&self, password: &str, hash: Option<&PasswordHash>) -> bool {
        hash.is_some_and(|h| h.as_str() == format!("plain:{password}"))
    }
}

/// A client with every grant and response type, and its secret in clear
/// (empty for `none`).
#[must_use]
pub fn sample_client(method: AuthMethod) -> (Client, String) {
    let secret = format!("secret-of-{}", method.as_str());
    let metadata = ClientMetadata {
        client_name: "Sample".to_owned(),
        client_uri: Some("https://client.example.com".to_owned()),
        redirect_uris: vec![
            RedirectUri::parse("https://client.example.com/cb").unwrap_or_else(|_| unreachable!())
        ],
        grant_types: vec![
            GrantType::AuthorizationCode,
            GrantType::Password,
            GrantType::ClientCredentials,
            GrantType::RefreshToken,
        ],
        response_types: vec![ResponseType::Code],
        scope: Scope::parse("profile email").unwrap_or_default(),
        token_endpoint_auth_method: method,
        post_logout_redirect_uris: vec![RedirectUri::parse(
            "https://client.example.com/signed-out",
        )
        .unwrap_or_else(|_| unreachable!())],
        id_token_signed_response_alg: crate::id_token::JwsAlgorithm::Rs256,
        default_max_age: None,
        require_auth_time: false,
    };
    let client = Client {
        id: ClientId::parse(&format!("client-{}", method.as_str()))
            .unwrap_or_else(|| unreachable!()),
        owner: UserId::from_random_bytes([1; 16]),
        secret_digest: method.is_confidential().then(|| SecretDigest::of(&secret)),
        metadata,
        issued_at: t(0),
        trusted: false,
    };
    let secret = if method.is_confidential() {
        secret
    } else {
        String::new()
    };
    (client, secret)
}

/// A token record of `kind`, issued at `issued_at`, expiring at `expires_at`.
#[must_use]
pub fn sample_token(kind: TokenKind, issued_at: Timestamp, expires_at: Timestamp) -> TokenRecord {
    TokenRecord {
        id: TokenId::from_random_bytes([2; 16]),
        family: FamilyId::from_random_bytes([3; 16]),
        kind,
        digest: SecretDigest::of("token"),
        client_id: ClientId::parse("client").unwrap_or_else(|| unreachable!()),
        user_id: None,
        scope: Scope::parse("profile").unwrap_or_default(),
        issued_at,
        expires_at,
        revoked_at: None,
        rotated_at: None,
        authentication: None,
    }
}

/// A user named `name` whose password hash comes from [`PlainHasher`].
#[must_use]
pub fn sample_user(name: &str, password: &str) -> User {
    let mut id = [0u8; 16];
    for (slot, byte) in id.iter_mut().zip(name.bytes()) {
        *slot = byte;
    }
    User {
        id: UserId::from_random_bytes(id),
        username: Username::parse(name).unwrap_or_else(|_| unreachable!()),
        password_hash: PasswordHash::new(format!("plain:{password}")),
        created_at: t(0),
        email: None,
        email_verified: false,
        name: None,
        updated_at: t(0),
    }
}

// Records for stores: every call gives distinct ids and digests, so that a
// test can insert as many as it likes (the contract tests of the Diesel
// repositories and of `InMemoryStore` build their data from these).

static NEXT_RECORD: AtomicU64 = AtomicU64::new(1);

fn next_record() -> u64 {
    NEXT_RECORD.fetch_add(1, Ordering::Relaxed)
}

/// 16 bytes never returned before in this process: a counter, then the
/// process id.
fn distinct_id() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&next_record().to_le_bytes());
    bytes[8..].copy_from_slice(&std::process::id().to_le_bytes().repeat(2));
    bytes
}

/// A digest no other call gives.
#[must_use]
pub fn digest() -> SecretDigest {
    SecretDigest::of(&format!("secret-{}", next_record()))
}

/// A new family id.
#[must_use]
pub fn family() -> FamilyId {
    FamilyId::from_random_bytes(distinct_id())
}

/// An instant with microseconds (2026-11-27 09:30:01 + `micros` µs), to
/// check that a store keeps them.
#[must_use]
pub fn precise(micros: u32) -> Timestamp {
    let dt = chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
        .and_then(|d| d.and_hms_micro_opt(9, 30, 1, micros))
        .unwrap_or_else(|| unreachable!());
    Timestamp::from_naive_utc(dt)
}

/// A user named `name` with an id of its own, created at `t(0)`; its
/// password is its name (for [`PlainHasher`]).
#[must_use]
pub fn user(name: &str) -> User {
    User {
        id: UserId::from_random_bytes(distinct_id()),
        ..sample_user(name, name)
    }
}

/// A client `id` of `owner`, confidential unless `method` is `none`, with
/// three kinds of redirect URI (https, loopback with a query, private-use
/// scheme), the code and refresh grants, issued at `t(10)`.
#[must_use]
pub fn client(id: &str, owner: &User, method: AuthMethod) -> Client {
    let uri = |uri: &str| RedirectUri::parse(uri).unwrap_or_else(|_| unreachable!());
    Client {
        id: ClientId::parse(id).unwrap_or_else(|| unreachable!()),
        owner: owner.id,
        secret_digest: method.is_confidential().then(digest),
        metadata: ClientMetadata {
            client_name: format!("Client {id}"),
            client_uri: method
                .is_confidential()
                .then(|| "https://app.example.com".to_owned()),
            redirect_uris: vec![
                uri("https://app.example.com/cb"),
                uri("http://127.0.0.1:8080/cb?x=1"),
                uri("com.example.app:/oauth"),
            ],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            response_types: vec![ResponseType::Code],
            scope: Scope::parse("profile email openid").unwrap_or_default(),
            token_endpoint_auth_method: method,
            post_logout_redirect_uris: vec![uri("https://app.example.com/signed-out")],
            id_token_signed_response_alg: crate::id_token::JwsAlgorithm::Rs256,
            default_max_age: None,
            require_auth_time: false,
        },
        issued_at: t(10),
        trusted: false,
    }
}

/// An unused code of `client` for `user`, in a family of its own, issued at
/// `t(100)` and expiring at `t(160)`.
#[must_use]
pub fn code(client: &Client, user: &User) -> AuthorizationCode {
    AuthorizationCode {
        digest: digest(),
        client_id: client.id.clone(),
        user_id: user.id,
        redirect_uri: Some("https://app.example.com/cb".to_owned()),
        scope: Scope::parse("profile email").unwrap_or_default(),
        challenge: CodeChallenge::from_stored(CodeChallenge::s256_of(
            "a-code-verifier-of-at-least-43-characters-long",
        )),
        family: family(),
        issued_at: t(100),
        expires_at: t(160),
        used_at: None,
        nonce: None,
        authentication: None,
    }
}

/// A token of `kind` in `family`, of `client` for `user`, scope `profile`,
/// issued at `t(200)` and expiring at `t(3800)`.
#[must_use]
pub fn token(
    kind: TokenKind,
    family: FamilyId,
    client: &Client,
    user: Option<&User>,
) -> TokenRecord {
    TokenRecord {
        id: TokenId::from_random_bytes(distinct_id()),
        family,
        digest: digest(),
        client_id: client.id.clone(),
        user_id: user.map(|u| u.id),
        ..sample_token(kind, t(200), t(3800))
    }
}

/// An access and a refresh token in `family` (see [`token`]).
#[must_use]
pub fn tokens(family: FamilyId, client: &Client, user: Option<&User>) -> NewTokens {
    NewTokens {
        access: token(TokenKind::Access, family, client, user),
        refresh: Some(token(TokenKind::Refresh, family, client, user)),
    }
}

#[derive(Debug, Default)]
struct State {
    /// (key, at, reservation).
    failures: Vec<(String, Timestamp, String)>,
    users: Vec<User>,
    clients: Vec<Client>,
    codes: Vec<AuthorizationCode>,
    tokens: Vec<TokenRecord>,
    /// Browser sessions: (session id, logged-in user).
    sessions: Vec<(String, Option<UserId>)>,
    /// Remembered consents.
    consents: Vec<crate::ports::Consent>,
    /// ID token signing keys.
    signing_keys: Vec<crate::signing_key::StoredSigningKey>,
}

/// Every repository port, in memory.
#[derive(Debug, Default)]
pub struct InMemoryStore(Mutex<State>);

impl InMemoryStore {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.0)
    }

    /// Every stored token (for assertions).
    #[must_use]
    pub fn all_tokens(&self) -> Vec<TokenRecord> {
        self.state().tokens.clone()
    }

    /// Stores a browser session `id`, logged in as `user` (the HTTP
    /// adapter's session store does this in production).
    pub fn add_session(&self, id: &str, user: Option<UserId>) {
        self.state().sessions.push((id.to_owned(), user));
    }

    /// Whether session `id` still exists.
    #[must_use]
    pub fn has_session(&self, id: &str) -> bool {
        self.state().sessions.iter().any(|(s, _)| s == id)
    }

    /// Every stored code (for assertions).
    #[must_use]
    pub fn all_codes(&self) -> Vec<AuthorizationCode> {
        self.state().codes.clone()
    }
}

impl crate::ports::ConsentRepository for InMemoryStore {
    fn find_consent(
        &self,
        user: &UserId,
        client: &ClientId,
    ) -> Result<Option<crate::ports::Consent>, StoreError> {
        Ok(self
            .state()
            .consents
            .iter()
            .find(|c| &c.user_id == user && &c.client_id == client)
            .cloned())
    }

    fn save_consent(&self, consent: &crate::ports::Consent) -> Result<(), StoreError> {
        let mut state = self.state();
        state.references(Some(&consent.user_id), Some(&consent.client_id))?;
        state
            .consents
            .retain(|c| !(c.user_id == consent.user_id && c.client_id == consent.client_id));
        state.consents.push(consent.clone());
        Ok(())
    }

    fn consents_of(&self, user: &UserId) -> Result<Vec<crate::ports::Consent>, StoreError> {
        let mut found: Vec<_> = self
            .state()
            .consents
            .iter()
            .filter(|c| &c.user_id == user)
            .cloned()
            .collect();
        found.sort_by(|a, b| a.client_id.as_str().cmp(b.client_id.as_str()));
        Ok(found)
    }

    fn delete_consent(&self, user: &UserId, client: &ClientId) -> Result<bool, StoreError> {
        let mut state = self.state();
        let before = state.consents.len();
        state
            .consents
            .retain(|c| !(&c.user_id == user && &c.client_id == client));
        Ok(state.consents.len() != before)
    }
}

impl crate::ports::SigningKeyRepository for InMemoryStore {
    fn signing_keys(&self) -> Result<Vec<crate::signing_key::StoredSigningKey>, StoreError> {
        let mut keys = self.state().signing_keys.clone();
        keys.sort_by(|a, b| (a.alg.as_str(), a.generation).cmp(&(b.alg.as_str(), b.generation)));
        Ok(keys)
    }

    fn insert_signing_key(
        &self,
        key: &crate::signing_key::StoredSigningKey,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        // The Diesel stores' primary key (kid) and UNIQUE (alg, generation).
        if state
            .signing_keys
            .iter()
            .any(|k| k.kid == key.kid || (k.alg == key.alg && k.generation == key.generation))
        {
            return Err(StoreError::Conflict);
        }
        state.signing_keys.push(key.clone());
        Ok(())
    }

    fn delete_signing_keys(&self, kids: &[String]) -> Result<usize, StoreError> {
        let mut state = self.state();
        let before = state.signing_keys.len();
        state.signing_keys.retain(|k| !kids.contains(&k.kid));
        Ok(before - state.signing_keys.len())
    }
}

impl SessionRepository for InMemoryStore {
    fn end_sessions_of(&self, user: &UserId) -> Result<usize, StoreError> {
        let mut state = self.state();
        let before = state.sessions.len();
        state.sessions.retain(|(_, u)| u.as_ref() != Some(user));
        Ok(before - state.sessions.len())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl State {
    /// The foreign keys of the SQL schema: `StoreError::Gone` when the user
    /// or client a row refers to does not exist (any more).
    fn references(
        &self,
        user: Option<&UserId>,
        client: Option<&ClientId>,
    ) -> Result<(), StoreError> {
        let user_ok = user.is_none_or(|id| self.users.iter().any(|u| &u.id == id));
        let client_ok = client.is_none_or(|id| self.clients.iter().any(|c| &c.id == id));
        if user_ok && client_ok {
            Ok(())
        } else {
            Err(StoreError::Gone)
        }
    }

    /// The insert of `insert_client`: a taken id is a conflict.
    fn add_client(&mut self, client: &Client) -> Result<(), StoreError> {
        if self.clients.iter().any(|c| c.id == client.id) {
            return Err(StoreError::Conflict);
        }
        self.references(Some(&client.owner), None)?;
        self.clients.push(client.clone());
        Ok(())
    }

    /// The insert of `insert_code`: a taken digest is a conflict.
    fn add_code(&mut self, code: &AuthorizationCode) -> Result<(), StoreError> {
        if self.codes.iter().any(|c| c.digest == code.digest) {
            return Err(StoreError::Conflict);
        }
        self.references(Some(&code.user_id), Some(&code.client_id))?;
        self.codes.push(code.clone());
        Ok(())
    }
}

fn store_tokens(state: &mut State, tokens: &NewTokens) -> Result<(), StoreError> {
    let new: Vec<&TokenRecord> = std::iter::once(&tokens.access)
        .chain(tokens.refresh.as_ref())
        .collect();
    for token in &new {
        state.references(token.user_id.as_ref(), Some(&token.client_id))?;
    }
    if new
        .iter()
        .any(|n| state.tokens.iter().any(|t| t.digest == n.digest))
    {
        return Err(StoreError::Conflict);
    }
    state.tokens.extend(new.into_iter().cloned());
    Ok(())
}

impl UserRepository for InMemoryStore {
    fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        let mut state = self.state();
        let folded = user.username.folded();
        let email = user.email.as_ref().map(EmailAddress::folded);
        if state.users.iter().any(|u| {
            u.username.folded() == folded
                || u.id == user.id
                || (email.is_some() && u.email.as_ref().map(EmailAddress::folded) == email)
        }) {
            return Err(StoreError::Conflict);
        }
        state.users.push(user.clone());
        Ok(())
    }

    fn find_user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        Ok(self.state().users.iter().find(|u| &u.id == id).cloned())
    }

    fn find_user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        let state = self.state();
        let folded = crate::user::fold_username(username);
        Ok(state
            .users
            .iter()
            .find(|u| u.username.as_str() == username)
            .or_else(|| state.users.iter().find(|u| u.username.folded() == folded))
            .cloned())
    }

    fn find_user_by_email(&self, folded: &str) -> Result<Option<User>, StoreError> {
        Ok(self
            .state()
            .users
            .iter()
            .find(|u| u.email.as_ref().is_some_and(|e| e.folded() == folded))
            .cloned())
    }

    fn set_email(
        &self,
        id: &UserId,
        email: Option<&EmailAddress>,
        verified: bool,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let folded = email.map(EmailAddress::folded);
        if folded.is_some()
            && state
                .users
                .iter()
                .any(|u| &u.id != id && u.email.as_ref().map(EmailAddress::folded) == folded)
        {
            return Err(StoreError::Conflict);
        }
        Ok(state
            .users
            .iter_mut()
            .find(|u| &u.id == id)
            .map(|u| {
                u.email = email.cloned();
                u.email_verified = verified;
                u.updated_at = at;
            })
            .is_some())
    }

    fn set_name(
        &self,
        id: &UserId,
        name: Option<&DisplayName>,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        Ok(state
            .users
            .iter_mut()
            .find(|u| &u.id == id)
            .map(|u| {
                u.name = name.cloned();
                u.updated_at = at;
            })
            .is_some())
    }

    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let mut users = self.state().users.clone();
        users.sort_by(|a, b| a.username.as_str().cmp(b.username.as_str()));
        Ok(users)
    }

    fn set_password(
        &self,
        id: &UserId,
        hash: &PasswordHash,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        Ok(state
            .users
            .iter_mut()
            .find(|u| &u.id == id)
            .map(|u| {
                u.password_hash = hash.clone();
                u.updated_at = at;
            })
            .is_some())
    }

    fn delete_user(&self, id: &UserId) -> Result<bool, StoreError> {
        let mut state = self.state();
        let before = state.users.len();
        state.users.retain(|u| &u.id != id);
        let owned: Vec<ClientId> = state
            .clients
            .iter()
            .filter(|c| &c.owner == id)
            .map(|c| c.id.clone())
            .collect();
        state.clients.retain(|c| &c.owner != id);
        state
            .codes
            .retain(|c| &c.user_id != id && !owned.contains(&c.client_id));
        state
            .tokens
            .retain(|t| t.user_id.as_ref() != Some(id) && !owned.contains(&t.client_id));
        state
            .consents
            .retain(|c| &c.user_id != id && !owned.contains(&c.client_id));
        Ok(state.users.len() != before)
    }
}

impl ClientRepository for InMemoryStore {
    fn insert_client(&self, client: &Client) -> Result<(), StoreError> {
        self.state().add_client(client)
    }

    fn insert_client_within_quota(
        &self,
        client: &Client,
        max: u32,
    ) -> Result<WithinQuota, StoreError> {
        let mut state = self.state();
        let owned = state
            .clients
            .iter()
            .filter(|c| c.owner == client.owner)
            .count();
        if owned >= max as usize {
            return Ok(WithinQuota::QuotaReached);
        }
        state.add_client(client)?;
        Ok(WithinQuota::Inserted)
    }

    fn find_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        Ok(self.state().clients.iter().find(|c| &c.id == id).cloned())
    }

    fn list_clients_of(&self, owner: &UserId) -> Result<Vec<Client>, StoreError> {
        Ok(self
            .state()
            .clients
            .iter()
            .filter(|c| &c.owner == owner)
            .cloned()
            .collect())
    }

    fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        Ok(self.state().clients.clone())
    }

    fn set_client_secret(&self, id: &ClientId, digest: &SecretDigest) -> Result<bool, StoreError> {
        let mut state = self.state();
        Ok(state
            .clients
            .iter_mut()
            .find(|c| &c.id == id)
            .map(|c| c.secret_digest = Some(digest.clone()))
            .is_some())
    }

    fn set_client_trusted(&self, id: &ClientId, trusted: bool) -> Result<bool, StoreError> {
        let mut state = self.state();
        Ok(state
            .clients
            .iter_mut()
            .find(|c| &c.id == id)
            .map(|c| c.trusted = trusted)
            .is_some())
    }

    fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        let mut state = self.state();
        let before = state.clients.len();
        state.clients.retain(|c| &c.id != id);
        state.codes.retain(|c| &c.client_id != id);
        state.tokens.retain(|t| &t.client_id != id);
        state.consents.retain(|c| &c.client_id != id);
        Ok(state.clients.len() != before)
    }
}

impl CodeRepository for InMemoryStore {
    fn insert_code(&self, code: &AuthorizationCode) -> Result<(), StoreError> {
        self.state().add_code(code)
    }

    fn insert_code_within_quota(
        &self,
        code: &AuthorizationCode,
        max: u32,
    ) -> Result<WithinQuota, StoreError> {
        let mut state = self.state();
        let pending = state
            .codes
            .iter()
            .filter(|c| {
                c.user_id == code.user_id
                    && c.client_id == code.client_id
                    && c.used_at.is_none()
                    && c.expires_at > code.issued_at
            })
            .count();
        if pending >= max as usize {
            return Ok(WithinQuota::QuotaReached);
        }
        state.add_code(code)?;
        Ok(WithinQuota::Inserted)
    }

    fn find_code(&self, digest: &SecretDigest) -> Result<Option<AuthorizationCode>, StoreError> {
        Ok(self
            .state()
            .codes
            .iter()
            .find(|c| &c.digest == digest)
            .cloned())
    }

    fn redeem_code(
        &self,
        digest: &SecretDigest,
        now: Timestamp,
        tokens: &NewTokens,
    ) -> Result<CodeRedemption, StoreError> {
        let mut state = self.state();
        let Some(code) = state
            .codes
            .iter_mut()
            .find(|c| &c.digest == digest && c.used_at.is_none())
        else {
            return Ok(CodeRedemption::AlreadyUsed);
        };
        code.used_at = Some(now);
        if let Err(error) = store_tokens(&mut state, tokens) {
            if let Some(code) = state.codes.iter_mut().find(|c| &c.digest == digest) {
                code.used_at = None;
            }
            return Err(error);
        }
        Ok(CodeRedemption::Redeemed)
    }

    fn delete_unused_codes(&self, user: &UserId, client: &ClientId) -> Result<usize, StoreError> {
        let mut state = self.state();
        let before = state.codes.len();
        state
            .codes
            .retain(|c| !(c.used_at.is_none() && &c.user_id == user && &c.client_id == client));
        Ok(before - state.codes.len())
    }

    fn delete_unused_codes_of_user(&self, user: &UserId) -> Result<usize, StoreError> {
        let mut state = self.state();
        let before = state.codes.len();
        state
            .codes
            .retain(|c| !(c.used_at.is_none() && &c.user_id == user));
        Ok(before - state.codes.len())
    }
}

impl TokenRepository for InMemoryStore {
    fn insert_tokens(&self, tokens: &NewTokens) -> Result<(), StoreError> {
        store_tokens(&mut self.state(), tokens)
    }

    fn find_token(&self, digest: &SecretDigest) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self
            .state()
            .tokens
            .iter()
            .find(|t| &t.digest == digest)
            .cloned())
    }

    fn find_token_with_user(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<(TokenRecord, Option<User>)>, StoreError> {
        let state = self.state();
        Ok(state.tokens.iter().find(|t| &t.digest == digest).map(|t| {
            let user = t
                .user_id
                .and_then(|id| state.users.iter().find(|u| u.id == id).cloned());
            (t.clone(), user)
        }))
    }

    fn rotate_refresh(
        &self,
        old: &TokenId,
        now: Timestamp,
        tokens: &NewTokens,
    ) -> Result<Rotation, StoreError> {
        let mut state = self.state();
        let Some(token) = state.tokens.iter_mut().find(|t| &t.id == old) else {
            return Ok(Rotation::Revoked);
        };
        if token.revoked_at.is_some() {
            return Ok(Rotation::Revoked);
        }
        if let Some(at) = token.rotated_at {
            return Ok(Rotation::AlreadyRotated(at));
        }
        token.rotated_at = Some(now);
        if let Err(error) = store_tokens(&mut state, tokens) {
            if let Some(token) = state.tokens.iter_mut().find(|t| &t.id == old) {
                token.rotated_at = None;
            }
            return Err(error);
        }
        Ok(Rotation::Rotated)
    }

    fn revoke_family(&self, family: &FamilyId, now: Timestamp) -> Result<usize, StoreError> {
        let mut state = self.state();
        let mut n = 0;
        for token in state
            .tokens
            .iter_mut()
            .filter(|t| &t.family == family && t.revoked_at.is_none())
        {
            token.revoked_at = Some(now);
            n += 1;
        }
        Ok(n)
    }

    fn revoke_token(&self, id: &TokenId, now: Timestamp) -> Result<bool, StoreError> {
        let mut state = self.state();
        Ok(state
            .tokens
            .iter_mut()
            .find(|t| &t.id == id && t.revoked_at.is_none())
            .map(|t| t.revoked_at = Some(now))
            .is_some())
    }

    fn revoke_tokens_of(
        &self,
        user: Option<&UserId>,
        client: Option<&ClientId>,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        if user.is_none() && client.is_none() {
            return Ok(0);
        }
        let mut state = self.state();
        let mut n = 0;
        for token in state.tokens.iter_mut().filter(|t| {
            t.revoked_at.is_none()
                && user.is_none_or(|u| t.user_id.as_ref() == Some(u))
                && client.is_none_or(|c| &t.client_id == c)
        }) {
            token.revoked_at = Some(now);
            n += 1;
        }
        Ok(n)
    }

    fn newest_refresh_issued_at(&self, family: &FamilyId) -> Result<Option<Timestamp>, StoreError> {
        Ok(self
            .state()
            .tokens
            .iter()
            .filter(|t| &t.family == family && t.kind == TokenKind::Refresh)
            .map(|t| t.issued_at)
            .max())
    }

    fn grants_of(&self, user: &UserId, now: Timestamp) -> Result<Vec<GrantSummary>, StoreError> {
        let live: Vec<TokenRecord> = self
            .state()
            .tokens
            .iter()
            .filter(|t| t.user_id.as_ref() == Some(user) && t.is_active(now))
            .cloned()
            .collect();
        Ok(GrantSummary::summarize(live))
    }
}

impl crate::ports::AttemptRepository for InMemoryStore {
    fn reserve(
        &self,
        reservation: &str,
        limits: &[crate::ports::KeyLimit<'_>],
        since: Timestamp,
        now: Timestamp,
    ) -> Result<crate::ports::Reserve, StoreError> {
        let mut state = self.state();
        let mut frees_at: Option<Timestamp> = None;
        for limit in limits {
            let mut times: Vec<Timestamp> = state
                .failures
                .iter()
                .filter(|(k, at, _)| k == limit.key && *at > since)
                .map(|(_, at, _)| *at)
                .collect();
            let count = u32::try_from(times.len()).unwrap_or(u32::MAX);
            if count >= limit.limit {
                times.sort();
                let index = usize::try_from(count - limit.limit).unwrap_or(usize::MAX);
                let at = times.get(index).copied().unwrap_or(now);
                frees_at = Some(frees_at.map_or(at, |f| f.max(at)));
            }
        }
        if let Some(frees_at) = frees_at {
            return Ok(crate::ports::Reserve::Refused { frees_at });
        }
        for limit in limits {
            state
                .failures
                .push((limit.key.to_owned(), now, reservation.to_owned()));
        }
        Ok(crate::ports::Reserve::Reserved)
    }

    fn release(&self, reservation: &str, keys: &[&str], clear: &[&str]) -> Result<(), StoreError> {
        self.state().failures.retain(|(k, _, r)| {
            !(clear.contains(&k.as_str()) || (r == reservation && keys.contains(&k.as_str())))
        });
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// A clock a test moves forward, for a whole running server.
// ---------------------------------------------------------------------------

/// A clock that runs with `base` (the system clock, in a server under test)
/// and that a test moves forward, to wait out a lifetime or a window without
/// sleeping. Shared by `Arc` between the server and the test. Unlike
/// [`FixedClock`] it keeps ticking, so that records made one after the other
/// still get distinct, ordered instants.
pub struct SettableClock {
    base: std::sync::Arc<dyn Clock>,
    ahead_micros: std::sync::atomic::AtomicI64,
}

impl SettableClock {
    /// A clock that says what `base` says until moved.
    #[must_use]
    pub fn over(base: std::sync::Arc<dyn Clock>) -> Self {
        Self {
            base,
            ahead_micros: std::sync::atomic::AtomicI64::new(0),
        }
    }

    /// Moves the clock forward by `by` (to the microsecond).
    pub fn advance(&self, by: std::time::Duration) {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.ahead_micros.fetch_add(micros, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for SettableClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettableClock")
            .field("ahead_micros", &self.ahead_micros)
            .finish_non_exhaustive()
    }
}

impl Clock for SettableClock {
    fn now(&self) -> Timestamp {
        let ahead = chrono::TimeDelta::microseconds(self.ahead_micros.load(Ordering::SeqCst));
        let now = self.base.now().as_naive_utc();
        Timestamp::from_naive_utc(now.checked_add_signed(ahead).unwrap_or(now))
    }
}

#[cfg(test)]
mod settable_clock_tests {
    use super::*;

    #[test]
    fn a_settable_clock_says_its_base_until_moved_forward() {
        let clock = SettableClock::over(std::sync::Arc::new(FixedClock::at(t(100))));
        assert_eq!(clock.now(), t(100));

        clock.advance(std::time::Duration::from_millis(1500));
        clock.advance(std::time::Duration::from_millis(500));

        assert_eq!(clock.now(), t(102));
    }
}

/// An [`crate::ports::IdTokenSigner`] that "signs" by remembering: each token
/// is `fake.<n>.<alg>`, and `verify_own` returns the claims it was made
/// from. What the unit tests need to see what the use cases would sign.
#[derive(Debug, Default)]
pub struct FakeSigner(Mutex<Vec<(String, crate::id_token::IdTokenClaims)>>);

impl FakeSigner {
    /// Every token signed so far, with its claims, oldest first.
    pub fn signed(&self) -> Vec<(String, crate::id_token::IdTokenClaims)> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl crate::ports::IdTokenSigner for FakeSigner {
    fn sign(
        &self,
        alg: crate::id_token::JwsAlgorithm,
        claims: &crate::id_token::IdTokenClaims,
    ) -> Result<String, StoreError> {
        let mut signed = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let token = format!("fake.{}.{alg}", signed.len());
        signed.push((token.clone(), claims.clone()));
        Ok(token)
    }

    fn verify_own(&self, token: &str) -> Option<crate::id_token::IdTokenClaims> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|(t, _)| t == token)
            .map(|(_, c)| c.clone())
    }
}
