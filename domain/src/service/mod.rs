//! Use cases over the ports: what the HTTP adapter and the admin commands
//! call. Each method is synchronous (Diesel and bcrypt block) and is run by
//! the adapter as one unit off the async executor.

pub mod accounts;
pub mod apps;
pub mod authorize;
pub mod bearer;
pub mod client_auth;
pub mod clients;
pub mod id_token;
pub mod introspect;
pub mod logout;
pub mod revoke;
pub mod throttle;
pub mod token;
pub mod userinfo;

use std::sync::Arc;

use crate::client::{Client, GrantType, ServerCapabilities};
use crate::id_token::Authentication;
use crate::ids::{ClientId, FamilyId, TokenId, UserId};
use crate::ports::{
    AttemptRepository, ClientRepository, Clock, CodeRepository, IdTokenSigner, PasswordHasher,
    SecureRandom, SessionRepository, TokenRepository, UserRepository,
};
use crate::scope::Scope;
use crate::time::Timestamp;
use crate::token::{IssuedTokens, Lifetimes, NewTokens, TokenKind, TokenRecord};

/// The ports the use cases run over.
#[derive(Clone)]
pub struct Ports {
    /// Users.
    pub users: Arc<dyn UserRepository>,
    /// Clients.
    pub clients: Arc<dyn ClientRepository>,
    /// Authorization codes.
    pub codes: Arc<dyn CodeRepository>,
    /// Access and refresh tokens.
    pub tokens: Arc<dyn TokenRepository>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The random source.
    pub random: Arc<dyn SecureRandom>,
    /// The password hasher.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Failed attempts, for brute-force limits.
    pub attempts: Arc<dyn AttemptRepository>,
    /// Browser sessions (ended when a password changes).
    pub sessions: Arc<dyn SessionRepository>,
    /// Signs ID tokens and checks the ones the server signed.
    pub id_tokens: Arc<dyn IdTokenSigner>,
}

/// Server-wide settings the rules depend on.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The issuer identifier (RFC 8414 `issuer`, RFC 9207 `iss`).
    pub issuer: String,
    /// Lifetimes of codes and tokens.
    pub lifetimes: Lifetimes,
    /// Enabled grant and response types, known scopes.
    pub capabilities: ServerCapabilities,
    /// Brute-force limits.
    pub throttle: throttle::ThrottlePolicy,
    /// Per-account quotas.
    pub quotas: Quotas,
}

/// What one account may create, so that one free account cannot fill the
/// store (the redirect-URI limit is in [`ServerCapabilities`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// `MAX_CLIENTS_PER_OWNER`: clients one user may register on the pages.
    pub clients_per_owner: u32,
    /// `MAX_PENDING_CODES_PER_GRANT`: unused, unexpired codes one user may
    /// hold for one client.
    pub pending_codes_per_grant: u32,
}

impl Quotas {
    /// Default of `MAX_CLIENTS_PER_OWNER`.
    pub const DEFAULT_CLIENTS_PER_OWNER: u32 = 50;
    /// Default of `MAX_PENDING_CODES_PER_GRANT`.
    pub const DEFAULT_PENDING_CODES_PER_GRANT: u32 = 10;
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            clients_per_owner: Self::DEFAULT_CLIENTS_PER_OWNER,
            pending_codes_per_grant: Self::DEFAULT_PENDING_CODES_PER_GRANT,
        }
    }
}

impl Policy {
    /// Whether `grant` is enabled on this server.
    #[must_use]
    pub fn grant_enabled(&self, grant: GrantType) -> bool {
        self.capabilities.grant_types.contains(&grant)
    }
}

/// Every use case, over one set of ports and one policy.
///
/// The ports are private: the adapters and the admin commands reach the
/// store only through these use cases, so that the pages and the CLI cannot
/// drift apart on a rule (revoking, listing, looking up).
#[derive(Clone)]
pub struct Services {
    /// The ports.
    pub(crate) ports: Ports,
    /// The policy.
    pub policy: Policy,
}

/// Who a family of tokens is for.
pub(crate) struct Grantee<'a> {
    pub client: &'a Client,
    pub user: Option<UserId>,
    pub scope: Scope,
    /// How the user signed in, for an OpenID grant (kept on its tokens).
    pub authentication: Option<Authentication>,
}

impl Services {
    /// Builds the services.
    #[must_use]
    pub fn new(ports: Ports, policy: Policy) -> Self {
        Self { ports, policy }
    }

    /// Mints an access token and, when `refresh_expires_at` is given, a
    /// refresh token, in `family`: the records to store and the secrets to
    /// return once.
    pub(crate) fn mint(
        &self,
        family: FamilyId,
        grantee: &Grantee<'_>,
        now: Timestamp,
        refresh_expires_at: Option<Timestamp>,
    ) -> (NewTokens, IssuedTokens) {
        let lifetime = self.policy.lifetimes.access_token;
        let record = |kind, digest, expires_at| TokenRecord {
            id: TokenId::from_random_bytes(self.ports.random.id_bytes()),
            family,
            kind,
            digest,
            client_id: grantee.client.id.clone(),
            user_id: grantee.user,
            scope: grantee.scope.clone(),
            issued_at: now,
            expires_at,
            revoked_at: None,
            rotated_at: None,
            authentication: grantee.authentication.clone(),
        };
        let access_token = self.ports.random.secret();
        let access = record(TokenKind::Access, access_token.digest(), now.plus(lifetime));
        let (refresh, refresh_token) = match refresh_expires_at {
            Some(expires_at) => {
                let secret = self.ports.random.secret();
                (
                    Some(record(TokenKind::Refresh, secret.digest(), expires_at)),
                    Some(secret),
                )
            }
            None => (None, None),
        };
        let issued = IssuedTokens {
            access_token,
            expires_in: lifetime.seconds(),
            scope: grantee.scope.clone(),
            refresh_token,
            id_token: None,
        };
        (NewTokens { access, refresh }, issued)
    }

    /// Now, by the services' clock (for the adapters' own records, such
    /// as when a browser session logged in).
    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.ports.clock.now()
    }

    /// A new family identifier.
    pub(crate) fn new_family(&self) -> FamilyId {
        FamilyId::from_random_bytes(self.ports.random.id_bytes())
    }

    /// A new client identifier.
    pub(crate) fn new_client_id(&self) -> ClientId {
        ClientId::from_random_bytes(self.ports.random.id_bytes())
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! A `Services` over `InMemoryStore`, with a settable clock.

    use std::sync::Arc;

    use super::{Policy, Ports, Services};
    use crate::client::{AuthMethod, Client, ServerCapabilities};
    use crate::ports::{ClientRepository, UserRepository};
    use crate::scope::Scope;
    use crate::testing::{
        sample_client, sample_user, t, CountingRandom, FakeSigner, FixedClock, InMemoryStore,
        PlainHasher,
    };
    use crate::token::Lifetimes;
    use crate::user::User;

    pub struct World {
        pub services: Services,
        pub store: Arc<InMemoryStore>,
        pub clock: Arc<FixedClock>,
        /// What the use cases signed (for the ID token tests).
        pub signer: Arc<FakeSigner>,
        pub alice: User,
    }

    pub const ALICE_PASSWORD: &str = "correct horse";

    pub fn world() -> World {
        let store = Arc::new(InMemoryStore::default());
        let clock = Arc::new(FixedClock::at(t(0)));
        let signer = Arc::new(FakeSigner::default());
        let ports = Ports {
            users: store.clone(),
            clients: store.clone(),
            codes: store.clone(),
            tokens: store.clone(),
            clock: clock.clone(),
            random: Arc::new(CountingRandom::default()),
            hasher: Arc::new(PlainHasher),
            attempts: store.clone(),
            sessions: store.clone(),
            id_tokens: signer.clone(),
        };
        let policy = Policy {
            issuer: "https://auth.example.com".to_owned(),
            lifetimes: Lifetimes::default(),
            capabilities: ServerCapabilities::all(Scope::parse("profile email").unwrap()),
            throttle: super::throttle::ThrottlePolicy::default(),
            quotas: super::Quotas::default(),
        };
        let alice = sample_user("alice", ALICE_PASSWORD);
        store.insert_user(&alice).unwrap();
        World {
            services: Services::new(ports, policy),
            store,
            clock,
            signer,
            alice,
        }
    }

    impl World {
        /// Registers the sample client of `method`, owned by alice.
        pub fn client(&self, method: AuthMethod) -> (Client, String) {
            self.client_with_id(method, &format!("client-{}", method.as_str()))
        }

        /// A password grant for alice, the client authenticating with
        /// `client_secret_post`; `scope` as requested (none: the client's).
        pub fn password_grant(
            &self,
            client_id: &str,
            secret: &str,
            scope: Option<&str>,
        ) -> super::token::TokenGrant {
            let mut pairs = vec![
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", ALICE_PASSWORD),
                ("client_id", client_id),
                ("client_secret", secret),
            ];
            pairs.extend(scope.map(|scope| ("scope", scope)));
            self.services
                .token(None, &crate::params::Params::from_pairs(pairs))
                .unwrap()
        }

        /// Stores `client` in place of the registered client of its id
        /// (for a test that changes its metadata or owner).
        pub fn reregister(&self, client: &Client) {
            self.store.delete_client(&client.id).unwrap();
            self.store.insert_client(client).unwrap();
        }

        /// Registers the sample client of `method` under another id.
        pub fn client_with_id(&self, method: AuthMethod, id: &str) -> (Client, String) {
            let (mut client, secret) = sample_client(method);
            client.owner = self.alice.id;
            client.id = crate::ids::ClientId::parse(id).unwrap();
            self.store.insert_client(&client).unwrap();
            (client, secret)
        }
    }
}
