//! Ports: what the domain needs from the outside world.
//!
//! Each repository method is one atomic, consistent operation; its contract
//! is stated with MUST. Adapters implement them (Diesel on SQLite and
//! PostgreSQL); `crate::testing` holds in-memory versions that serve as unit
//! test fakes and as the executable specification of each contract.

use crate::client::Client;
use crate::code::AuthorizationCode;
use crate::error::StoreError;
use crate::id_token::{IdTokenClaims, JwsAlgorithm};
use crate::ids::{ClientId, FamilyId, TokenId, UserId};
use crate::secret::{PlainSecret, SecretDigest, SECRET_BYTES};
use crate::time::Timestamp;
use crate::token::{NewTokens, TokenRecord};
use crate::user::{DisplayName, EmailAddress, PasswordHash, User};

/// The current time.
pub trait Clock: Send + Sync {
    /// Now, in UTC, truncated to microseconds.
    fn now(&self) -> Timestamp;
}

/// A cryptographically secure random source (the OS CSPRNG in production).
pub trait SecureRandom: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill_bytes(&self, buf: &mut [u8]);
}

impl dyn SecureRandom + '_ {
    /// A new 256-bit secret (code, token or client secret).
    #[must_use]
    pub fn secret(&self) -> PlainSecret {
        let mut bytes = [0u8; SECRET_BYTES];
        self.fill_bytes(&mut bytes);
        PlainSecret::from_random_bytes(&bytes)
    }

    /// 16 random bytes, for identifiers.
    #[must_use]
    pub fn id_bytes(&self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        self.fill_bytes(&mut bytes);
        bytes
    }
}

/// Hashes and checks user passwords (bcrypt in production). Slow on purpose:
/// callers run it off the async executor.
pub trait PasswordHasher: Send + Sync {
    /// Hashes a new password.
    ///
    /// # Errors
    /// `StoreError::Other` if hashing fails.
    fn hash(&self, password: &str) -> Result<PasswordHash, StoreError>;

    /// Whether `password` matches `hash`. When `hash` is `None` (unknown
    /// user) it MUST spend the same time as a real check and return false.
    fn verify(&self, password: &str, hash: Option<&PasswordHash>) -> bool;
}

/// Stored users.
pub trait UserRepository: Send + Sync {
    /// Stores a new user.
    ///
    /// # Errors
    /// MUST return `StoreError::Conflict` when the username, or any name
    /// that folds to the same key ([`crate::user::Username::folded`]), is
    /// taken, or when another user's e-mail address folds to the same key
    /// as this one's ([`crate::user::EmailAddress::folded`]).
    fn insert_user(&self, user: &User) -> Result<(), StoreError>;

    /// The user with this id.
    ///
    /// # Errors
    /// Store failures only.
    fn find_user(&self, id: &UserId) -> Result<Option<User>, StoreError>;

    /// The user with exactly this name; failing that, the user whose name
    /// folds ([`crate::user::fold_username`]) to the same key (RFC 8265
    /// §3.3). Two users created before names were folded may share a key:
    /// then only the oldest is found by it, the other by its exact name.
    ///
    /// # Errors
    /// Store failures only.
    fn find_user_by_name(&self, username: &str) -> Result<Option<User>, StoreError>;

    /// The user whose e-mail address folds to `folded`
    /// ([`crate::user::fold_email`]).
    ///
    /// # Errors
    /// Store failures only.
    fn find_user_by_email(&self, folded: &str) -> Result<Option<User>, StoreError>;

    /// Replaces a user's e-mail address and its `email_verified`, and sets
    /// `updated_at` to `at`; false when there is no such user.
    ///
    /// # Errors
    /// MUST return `StoreError::Conflict` when another user's address folds
    /// to the same key.
    fn set_email(
        &self,
        id: &UserId,
        email: Option<&EmailAddress>,
        verified: bool,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Replaces a user's display name and sets `updated_at` to `at`; false
    /// when there is no such user.
    ///
    /// # Errors
    /// Store failures only.
    fn set_name(
        &self,
        id: &UserId,
        name: Option<&DisplayName>,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Every user, by name.
    ///
    /// # Errors
    /// Store failures only.
    fn list_users(&self) -> Result<Vec<User>, StoreError>;

    /// Replaces a user's password hash and sets `updated_at` to `at`; false
    /// when there is no such user.
    ///
    /// # Errors
    /// Store failures only.
    fn set_password(
        &self,
        id: &UserId,
        hash: &PasswordHash,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Deletes a user; false when there is no such user. MUST also delete the
    /// user's clients and every code and token of the user or those clients.
    ///
    /// # Errors
    /// Store failures only.
    fn delete_user(&self, id: &UserId) -> Result<bool, StoreError>;
}

/// Stored clients.
pub trait ClientRepository: Send + Sync {
    /// Stores a new client.
    ///
    /// # Errors
    /// MUST return `StoreError::Conflict` when the client id exists.
    fn insert_client(&self, client: &Client) -> Result<(), StoreError>;

    /// Stores a new client only if its owner has fewer than `max` clients,
    /// counted and inserted in one write transaction: of any number of
    /// concurrent calls for one owner, the owner MUST end with at most
    /// `max` clients (when it had at most `max` before).
    ///
    /// # Errors
    /// As [`ClientRepository::insert_client`]; on error nothing is stored.
    fn insert_client_within_quota(
        &self,
        client: &Client,
        max: u32,
    ) -> Result<WithinQuota, StoreError>;

    /// The client with this id.
    ///
    /// # Errors
    /// Store failures only.
    fn find_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError>;

    /// The clients a user registered, oldest first.
    ///
    /// # Errors
    /// Store failures only.
    fn list_clients_of(&self, owner: &UserId) -> Result<Vec<Client>, StoreError>;

    /// Every client, oldest first.
    ///
    /// # Errors
    /// Store failures only.
    fn list_clients(&self) -> Result<Vec<Client>, StoreError>;

    /// Replaces the secret digest of a confidential client; false when there
    /// is no such client.
    ///
    /// # Errors
    /// Store failures only.
    fn set_client_secret(&self, id: &ClientId, digest: &SecretDigest) -> Result<bool, StoreError>;

    /// Marks the client trusted by the operator or not; false when not found.
    ///
    /// # Errors
    /// Store failures only.
    fn set_client_trusted(&self, id: &ClientId, trusted: bool) -> Result<bool, StoreError>;

    /// Deletes a client; false when there is no such client. MUST delete its
    /// codes and tokens in the same transaction.
    ///
    /// # Errors
    /// Store failures only.
    fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError>;
}

/// The outcome of an insert bounded by a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithinQuota {
    /// The record was stored.
    Inserted,
    /// The quota was already reached; nothing was stored.
    QuotaReached,
}

/// The outcome of [`CodeRepository::redeem_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRedemption {
    /// The code was unused; it is now used and the tokens are stored.
    Redeemed,
    /// The code was already used (or no longer exists); nothing was stored.
    AlreadyUsed,
}

/// Stored authorization codes.
pub trait CodeRepository: Send + Sync {
    /// Stores a new code.
    ///
    /// # Errors
    /// MUST return `StoreError::Conflict` when the digest exists.
    fn insert_code(&self, code: &AuthorizationCode) -> Result<(), StoreError>;

    /// Stores a new code only if its user holds fewer than `max` pending
    /// codes (unused and unexpired at `code.issued_at`) of its client,
    /// counted and inserted in one write transaction: of any number of
    /// concurrent calls for one user and client, at most `max` pending
    /// codes MUST result.
    ///
    /// # Errors
    /// As [`CodeRepository::insert_code`]; on error nothing is stored.
    fn insert_code_within_quota(
        &self,
        code: &AuthorizationCode,
        max: u32,
    ) -> Result<WithinQuota, StoreError>;

    /// The code with this digest, used or not.
    ///
    /// # Errors
    /// Store failures only.
    fn find_code(&self, digest: &SecretDigest) -> Result<Option<AuthorizationCode>, StoreError>;

    /// Marks the code used at `now` and stores `tokens`, in one transaction,
    /// only if the code is still unused. Of any number of concurrent calls
    /// for one digest, exactly one MUST return `Redeemed`; the others MUST
    /// return `AlreadyUsed` and store nothing.
    ///
    /// # Errors
    /// Store failures only; on error nothing is changed.
    fn redeem_code(
        &self,
        digest: &SecretDigest,
        now: Timestamp,
        tokens: &NewTokens,
    ) -> Result<CodeRedemption, StoreError>;

    /// Deletes the unused codes `client` holds for `user` (when the user
    /// revokes the app); returns how many.
    ///
    /// # Errors
    /// Store failures only.
    fn delete_unused_codes(&self, user: &UserId, client: &ClientId) -> Result<usize, StoreError>;

    /// Deletes every unused code of `user`, at every client (after a
    /// password change); returns how many.
    ///
    /// # Errors
    /// Store failures only.
    fn delete_unused_codes_of_user(&self, user: &UserId) -> Result<usize, StoreError>;
}

/// Stored browser sessions, as far as the use cases need them.
pub trait SessionRepository: Send + Sync {
    /// Ends every browser session logged in as `user`, for every copy of
    /// its cookie and on every instance sharing the store; returns how many.
    ///
    /// # Errors
    /// Store failures only.
    fn end_sessions_of(&self, user: &UserId) -> Result<usize, StoreError>;
}

/// The outcome of [`TokenRepository::rotate_refresh`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The old refresh token is now rotated and the new tokens are stored.
    Rotated,
    /// The old refresh token had already been rotated at this time; nothing
    /// was stored.
    AlreadyRotated(Timestamp),
    /// The old refresh token is revoked or gone; nothing was stored.
    Revoked,
}

/// One client's live access to one user's account: what the connected-apps
/// page lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSummary {
    /// The client.
    pub client_id: ClientId,
    /// Every scope its live tokens carry.
    pub scope: crate::scope::Scope,
    /// When its oldest live token was issued.
    pub granted_at: Timestamp,
    /// When its newest live token was issued (the last grant or refresh).
    pub last_used_at: Timestamp,
}

impl GrantSummary {
    /// Groups live tokens into one summary per client, ordered by client id.
    #[must_use]
    pub fn summarize(live: Vec<TokenRecord>) -> Vec<Self> {
        let mut summaries: Vec<Self> = Vec::new();
        for token in live {
            match summaries
                .iter_mut()
                .find(|s| s.client_id == token.client_id)
            {
                Some(summary) => {
                    summary.granted_at = summary.granted_at.min(token.issued_at);
                    summary.last_used_at = summary.last_used_at.max(token.issued_at);
                    for scope in token.scope.tokens() {
                        summary.scope.insert(scope);
                    }
                }
                None => summaries.push(Self {
                    client_id: token.client_id,
                    scope: token.scope,
                    granted_at: token.issued_at,
                    last_used_at: token.issued_at,
                }),
            }
        }
        summaries.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        summaries
    }
}

/// Stored access and refresh tokens.
pub trait TokenRepository: Send + Sync {
    /// Stores newly issued tokens.
    ///
    /// # Errors
    /// MUST return `StoreError::Conflict` when a digest exists.
    fn insert_tokens(&self, tokens: &NewTokens) -> Result<(), StoreError>;

    /// The token with this digest, whatever its state.
    ///
    /// # Errors
    /// Store failures only.
    fn find_token(&self, digest: &SecretDigest) -> Result<Option<TokenRecord>, StoreError>;

    /// The token with this digest and its user (when it has one that still
    /// exists), in one read: what every bearer request needs.
    ///
    /// # Errors
    /// Store failures only.
    fn find_token_with_user(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<(TokenRecord, Option<User>)>, StoreError>;

    /// Marks the refresh token `old` rotated at `now` and stores `tokens`, in
    /// one transaction, only if `old` is neither rotated nor revoked. Of any
    /// number of concurrent calls for one token, at most one MUST return
    /// `Rotated`.
    ///
    /// # Errors
    /// Store failures only; on error nothing is changed.
    fn rotate_refresh(
        &self,
        old: &TokenId,
        now: Timestamp,
        tokens: &NewTokens,
    ) -> Result<Rotation, StoreError>;

    /// Revokes every token of a family not yet revoked; returns how many.
    ///
    /// # Errors
    /// Store failures only.
    fn revoke_family(&self, family: &FamilyId, now: Timestamp) -> Result<usize, StoreError>;

    /// Revokes one token; false if it was already revoked or is unknown.
    ///
    /// # Errors
    /// Store failures only.
    fn revoke_token(&self, id: &TokenId, now: Timestamp) -> Result<bool, StoreError>;

    /// Revokes every live token of a user (all clients when `client` is
    /// `None`) or, with `user` `None`, of a client; returns how many.
    ///
    /// # Errors
    /// Store failures only.
    fn revoke_tokens_of(
        &self,
        user: Option<&UserId>,
        client: Option<&ClientId>,
        now: Timestamp,
    ) -> Result<usize, StoreError>;

    /// For each client holding a live token of `user` (not revoked, not
    /// rotated, not expired at `now`), a summary; ordered by client id.
    ///
    /// # Errors
    /// Store failures only.
    fn grants_of(&self, user: &UserId, now: Timestamp) -> Result<Vec<GrantSummary>, StoreError>;

    /// When the newest refresh token of `family` was issued (whatever its
    /// state), `None` when the family has none.
    ///
    /// # Errors
    /// Store failures only.
    fn newest_refresh_issued_at(&self, family: &FamilyId) -> Result<Option<Timestamp>, StoreError>;
}

/// One key of an attempt and how many rows it may hold in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLimit<'a> {
    /// The key (a digest made by the domain).
    pub key: &'a str,
    /// The most rows the key may hold after `since`; at that many, the
    /// attempt is refused.
    pub limit: u32,
}

/// What [`AttemptRepository::reserve`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserve {
    /// Every key was under its limit: one row per key was inserted, tagged
    /// with the reservation.
    Reserved,
    /// A key was at its limit: nothing was inserted. `frees_at` is the time
    /// of the row whose leaving the window brings every refused key under
    /// its limit again (the latest such row over the refused keys).
    Refused {
        /// When that row was counted.
        frees_at: Timestamp,
    },
}

/// Attempts (password checks, client authentications, sign-ups) counted
/// per key, so that brute force is limited across every instance sharing
/// the store. An attempt first reserves a row under each of its keys; a
/// failure leaves the rows in place, a success releases them.
pub trait AttemptRepository: Send + Sync {
    /// Counts, for each of `limits`, the rows of its key after `since`; if
    /// every count is under its limit, inserts one row per key at `now`
    /// tagged `reservation` and returns [`Reserve::Reserved`], otherwise
    /// inserts nothing and returns [`Reserve::Refused`].
    ///
    /// The count and the insert MUST be one atomic step, serialized with
    /// every other `reserve` sharing one of the keys, on every instance
    /// sharing the store: of N concurrent reserves on a key with limit L and
    /// no rows, exactly min(N, L) are `Reserved`.
    ///
    /// # Errors
    /// Store failures only (then nothing was inserted).
    fn reserve(
        &self,
        reservation: &str,
        limits: &[KeyLimit<'_>],
        since: Timestamp,
        now: Timestamp,
    ) -> Result<Reserve, StoreError>;

    /// Deletes the rows of `keys` tagged `reservation` (an attempt that
    /// turned out not to be a failure) and every row of the keys in `clear`
    /// (the failures a success forgives), in one write.
    ///
    /// # Errors
    /// Store failures only.
    fn release(&self, reservation: &str, keys: &[&str], clear: &[&str]) -> Result<(), StoreError>;
}

/// Signs ID tokens with the server's current keys and checks ID tokens the
/// server signed (JOSE, in the adapters). Signing may be slow (RSA): callers
/// run it off the async executor, as every use case is.
pub trait IdTokenSigner: Send + Sync {
    /// The compact JWS of `claims`, signed with the current key for `alg`,
    /// whose `kid` is in the JWS header and already published in the JWKS.
    ///
    /// # Errors
    /// `StoreError::Other` when no key for `alg` can sign.
    fn sign(&self, alg: JwsAlgorithm, claims: &IdTokenClaims) -> Result<String, StoreError>;

    /// The claims of `token` if it is a compact JWS that one of the server's
    /// published keys signed (whatever its `exp`: an `id_token_hint` may be
    /// expired, Core §3.1.2.1); `None` for anything else. The caller checks
    /// `iss`, `aud` and `sub`.
    fn verify_own(&self, token: &str) -> Option<IdTokenClaims>;
}
