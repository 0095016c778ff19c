//! Client registration and management by their owners.

use crate::client::{Client, ClientMetadata, FieldError, RegistrationInput};
use crate::error::StoreError;
use crate::ids::{ClientId, UserId};
use crate::ports::WithinQuota;
use crate::secret::PlainSecret;

use super::Services;

/// Why a registration was refused.
#[derive(Debug)]
pub enum RegistrationError {
    /// The metadata breaks rules, one error per field problem.
    Invalid(Vec<FieldError>),
    /// The owner already has this many clients (`MAX_CLIENTS_PER_OWNER`).
    QuotaReached(u32),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for RegistrationError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// Who manages a client: the operator (the admin commands), any client;
/// a signed-in user (the pages), only the clients they own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The operator.
    Admin,
    /// The owner of the clients acted on.
    Owner(UserId),
}

impl Actor {
    /// Whether this actor may see and change `client`.
    #[must_use]
    pub fn manages(self, client: &Client) -> bool {
        match self {
            Self::Admin => true,
            Self::Owner(owner) => client.owner == owner,
        }
    }
}

/// A client just registered or re-keyed: the secret in clear is shown once.
#[derive(Debug)]
pub struct ClientWithSecret {
    /// The client.
    pub client: Client,
    /// Its secret in clear (`None` for public clients).
    pub secret: Option<PlainSecret>,
}

impl Services {
    /// Registers a client for `owner`, within the owner's client quota
    /// (what the pages call).
    ///
    /// # Errors
    /// A [`RegistrationError`].
    pub fn register_client(
        &self,
        owner: &UserId,
        input: &RegistrationInput,
    ) -> Result<ClientWithSecret, RegistrationError> {
        self.register(
            owner,
            input,
            Some(self.policy.quotas.clients_per_owner),
            false,
        )
    }

    /// Registers a client for `owner` on the operator's behalf (the admin
    /// command): every metadata rule and size limit applies, the
    /// per-owner client count does not, since the operator decides it. The
    /// client is trusted (RFC 9700 §4.11.2: its redirect URIs were chosen
    /// by the operator), in the same insert.
    ///
    /// # Errors
    /// A [`RegistrationError`] other than `QuotaReached`.
    pub fn register_client_as_operator(
        &self,
        owner: &UserId,
        input: &RegistrationInput,
    ) -> Result<ClientWithSecret, RegistrationError> {
        self.register(owner, input, None, true)
    }

    fn register(
        &self,
        owner: &UserId,
        input: &RegistrationInput,
        quota: Option<u32>,
        trusted: bool,
    ) -> Result<ClientWithSecret, RegistrationError> {
        let metadata = ClientMetadata::validate(input, &self.policy.capabilities)
            .map_err(RegistrationError::Invalid)?;
        let secret = metadata
            .token_endpoint_auth_method
            .is_confidential()
            .then(|| self.ports.random.secret());
        let client = Client {
            id: self.new_client_id(),
            owner: *owner,
            secret_digest: secret.as_ref().map(PlainSecret::digest),
            metadata,
            issued_at: self.ports.clock.now(),
            trusted,
        };
        match quota {
            Some(max) => match self
                .ports
                .clients
                .insert_client_within_quota(&client, max)?
            {
                WithinQuota::Inserted => {}
                WithinQuota::QuotaReached => return Err(RegistrationError::QuotaReached(max)),
            },
            None => self.ports.clients.insert_client(&client)?,
        }
        Ok(ClientWithSecret { client, secret })
    }

    /// Every client, for the operator.
    ///
    /// # Errors
    /// Store failures only.
    pub fn clients(&self) -> Result<Vec<Client>, StoreError> {
        self.ports.clients.list_clients()
    }

    /// The clients `owner` owns.
    ///
    /// # Errors
    /// Store failures only.
    pub fn clients_of(&self, owner: &UserId) -> Result<Vec<Client>, StoreError> {
        self.ports.clients.list_clients_of(owner)
    }

    /// The client `id` if `actor` manages it.
    ///
    /// # Errors
    /// Store failures only.
    pub fn client_for(&self, actor: Actor, id: &str) -> Result<Option<Client>, StoreError> {
        let Some(id) = ClientId::parse(id) else {
            return Ok(None);
        };
        Ok(self
            .ports
            .clients
            .find_client(&id)?
            .filter(|c| actor.manages(c)))
    }

    /// Gives a confidential client a new secret; the old one stops working.
    /// `None` when the client is not found, not managed by `actor`, or
    /// public.
    ///
    /// # Errors
    /// Store failures only.
    pub fn rotate_client_secret(
        &self,
        actor: Actor,
        id: &str,
    ) -> Result<Option<ClientWithSecret>, StoreError> {
        let Some(client) = self.client_for(actor, id)?.filter(Client::is_confidential) else {
            return Ok(None);
        };
        let secret = self.ports.random.secret();
        let digest = secret.digest();
        if !self.ports.clients.set_client_secret(&client.id, &digest)? {
            return Ok(None);
        }
        Ok(Some(ClientWithSecret {
            client: Client {
                secret_digest: Some(digest),
                ..client
            },
            secret: Some(secret),
        }))
    }

    /// Marks a client trusted (or not) by the operator (RFC 9700 §4.11.2);
    /// false when there is no such client.
    ///
    /// # Errors
    /// Store failures only.
    pub fn set_client_trusted(&self, id: &str, trusted: bool) -> Result<bool, StoreError> {
        match ClientId::parse(id) {
            Some(id) => self.ports.clients.set_client_trusted(&id, trusted),
            None => Ok(false),
        }
    }

    /// Deletes a client with its codes and tokens; false when not found or
    /// not managed by `actor`.
    ///
    /// # Errors
    /// Store failures only.
    pub fn delete_client(&self, actor: Actor, id: &str) -> Result<bool, StoreError> {
        match self.client_for(actor, id)? {
            Some(client) => self.ports.clients.delete_client(&client.id),
            None => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::ClientRepository;
    use crate::service::fixtures::world;

    fn input() -> RegistrationInput {
        RegistrationInput {
            client_name: "App".to_owned(),
            client_uri: String::new(),
            redirect_uris: vec!["https://app.example/cb".to_owned()],
            grant_types: vec!["authorization_code".to_owned()],
            response_types: vec!["code".to_owned()],
            scope: "profile".to_owned(),
            token_endpoint_auth_method: "client_secret_basic".to_owned(),
            ..RegistrationInput::default()
        }
    }

    #[test]
    fn registration_stores_only_the_digest_and_rotation_replaces_it() {
        let w = world();

        let created = w.services.register_client(&w.alice.id, &input()).unwrap();
        let secret = created.secret.unwrap();
        let stored = w
            .services
            .client_for(Actor::Owner(w.alice.id), created.client.id.as_str())
            .unwrap()
            .unwrap();
        assert!(stored
            .secret_digest
            .as_ref()
            .unwrap()
            .matches(secret.expose()));

        let rotated = w
            .services
            .rotate_client_secret(Actor::Owner(w.alice.id), created.client.id.as_str())
            .unwrap()
            .unwrap();
        let stored = w
            .services
            .client_for(Actor::Admin, created.client.id.as_str())
            .unwrap()
            .unwrap();
        assert!(!stored
            .secret_digest
            .as_ref()
            .unwrap()
            .matches(secret.expose()));
        assert!(stored
            .secret_digest
            .unwrap()
            .matches(rotated.secret.unwrap().expose()));
    }

    #[test]
    fn public_clients_get_no_secret_and_others_cannot_touch_a_client() {
        let w = world();
        let public = RegistrationInput {
            token_endpoint_auth_method: "none".to_owned(),
            ..input()
        };
        let stranger = UserId::from_random_bytes([77; 16]);

        let created = w.services.register_client(&w.alice.id, &public).unwrap();
        let id = created.client.id.as_str();

        assert!(created.secret.is_none());
        assert!(w
            .services
            .client_for(Actor::Owner(stranger), id)
            .unwrap()
            .is_none());
        assert!(!w
            .services
            .delete_client(Actor::Owner(stranger), id)
            .unwrap());
        assert!(w
            .services
            .rotate_client_secret(Actor::Owner(w.alice.id), id)
            .unwrap()
            .is_none());
        assert!(w
            .services
            .delete_client(Actor::Owner(w.alice.id), id)
            .unwrap());
    }

    #[test]
    fn owners_register_up_to_their_quota_and_the_operator_past_it() {
        let mut w = world();
        w.services.policy.quotas.clients_per_owner = 3;
        for _ in 0..3 {
            w.services.register_client(&w.alice.id, &input()).unwrap();
        }

        let fourth = w.services.register_client(&w.alice.id, &input());
        let by_operator = w
            .services
            .register_client_as_operator(&w.alice.id, &input());

        assert!(
            matches!(fourth, Err(RegistrationError::QuotaReached(3))),
            "{fourth:?}"
        );
        assert!(by_operator.is_ok());
        assert_eq!(w.store.list_clients_of(&w.alice.id).unwrap().len(), 4);
        // Another owner has a quota of its own.
        let bob = crate::testing::sample_user("bob", "another horse");
        crate::ports::UserRepository::insert_user(&*w.store, &bob).unwrap();
        assert!(w.services.register_client(&bob.id, &input()).is_ok());
    }

    #[test]
    fn clients_are_listed_all_or_by_owner() {
        let w = world();
        let bob = crate::testing::sample_user("bob", "another horse");
        crate::ports::UserRepository::insert_user(&*w.store, &bob).unwrap();
        let of_alice = w.services.register_client(&w.alice.id, &input()).unwrap();
        let of_bob = w.services.register_client(&bob.id, &input()).unwrap();

        let ids = |clients: Vec<Client>| {
            let mut ids: Vec<ClientId> = clients.into_iter().map(|c| c.id).collect();
            ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            ids
        };
        let mut both = vec![of_alice.client.id.clone(), of_bob.client.id.clone()];
        both.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        assert_eq!(ids(w.services.clients().unwrap()), both);
        assert_eq!(
            ids(w.services.clients_of(&w.alice.id).unwrap()),
            [of_alice.client.id]
        );
        assert_eq!(
            ids(w.services.clients_of(&bob.id).unwrap()),
            [of_bob.client.id]
        );
    }

    #[test]
    fn operator_registrations_are_trusted_and_self_service_ones_are_not() {
        let w = world();
        let by_owner = w.services.register_client(&w.alice.id, &input()).unwrap();
        let by_operator = w
            .services
            .register_client_as_operator(&w.alice.id, &input())
            .unwrap();

        let stored = |id| w.store.find_client(id).unwrap().unwrap().trusted;
        assert!(!stored(&by_owner.client.id));
        assert!(stored(&by_operator.client.id));
    }
}
