//! Connected apps: the clients holding live access to a user's account, and
//! revoking that access at once.

use crate::client::Client;
use crate::error::StoreError;
use crate::ids::{ClientId, UserId};
use crate::ports::GrantSummary;

use super::Services;

/// A client with live access to the user's account.
#[derive(Debug, Clone)]
pub struct ConnectedApp {
    /// The client.
    pub client: Client,
    /// What its live tokens carry, and when.
    pub grant: GrantSummary,
}

impl Services {
    /// The apps with live access to `user`'s account.
    ///
    /// # Errors
    /// Store failures only.
    pub fn connected_apps(&self, user: &UserId) -> Result<Vec<ConnectedApp>, StoreError> {
        let now = self.ports.clock.now();
        let mut apps = Vec::new();
        for grant in self.ports.tokens.grants_of(user, now)? {
            if let Some(client) = self.ports.clients.find_client(&grant.client_id)? {
                apps.push(ConnectedApp { client, grant });
            }
        }
        Ok(apps)
    }

    /// Revokes every token `client_id` holds for `user`, and deletes its
    /// unused codes; returns how many tokens were revoked.
    ///
    /// # Errors
    /// Store failures only.
    pub fn revoke_app(&self, user: &UserId, client_id: &str) -> Result<usize, StoreError> {
        let Some(client_id) = ClientId::parse(client_id) else {
            return Ok(0);
        };
        // A code approved a moment ago must not outlive the revocation.
        self.ports.codes.delete_unused_codes(user, &client_id)?;
        self.revoke_tokens_of(Some(user), Some(&client_id))
    }

    /// Revokes, now, every live access and refresh token of `user` (at every
    /// client when `client` is `None`) or, with `user` `None`, of `client`
    /// (RFC 7009 §2.1: revoking a grant ends all its tokens); returns how
    /// many. Unused codes are left alone: see [`Services::revoke_app`].
    ///
    /// # Errors
    /// Store failures only.
    pub fn revoke_tokens_of(
        &self,
        user: Option<&UserId>,
        client: Option<&ClientId>,
    ) -> Result<usize, StoreError> {
        let now = self.ports.clock.now();
        self.ports.tokens.revoke_tokens_of(user, client, now)
    }
}

#[cfg(test)]
mod tests {
    use crate::client::AuthMethod;
    use crate::service::fixtures::world;
    use crate::testing::t;

    #[test]
    fn apps_are_listed_with_their_scopes_and_revoked_at_once() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretPost);
        let id = client.id.as_str();
        let grant = |scope: &str| w.password_grant(id, &secret, Some(scope));
        grant("profile");
        w.clock.set(t(100));
        grant("email");

        let apps = w.services.connected_apps(&w.alice.id).unwrap();
        assert_eq!(apps.len(), 1);
        assert_eq!(apps[0].grant.scope.to_string(), "profile email");
        assert_eq!(apps[0].grant.granted_at, t(0));
        assert_eq!(apps[0].grant.last_used_at, t(100));

        assert_eq!(w.services.revoke_app(&w.alice.id, id).unwrap(), 4);
        assert!(w.services.connected_apps(&w.alice.id).unwrap().is_empty());
    }

    #[test]
    fn tokens_are_revoked_by_user_by_client_or_by_both() {
        use crate::ports::{TokenRepository, UserRepository};
        let w = world();
        let (one, one_secret) = w.client_with_id(AuthMethod::ClientSecretPost, "client-one");
        let (two, two_secret) = w.client_with_id(AuthMethod::ClientSecretPost, "client-two");
        let at_one = w.password_grant(one.id.as_str(), &one_secret, None);
        let at_two = w.password_grant(two.id.as_str(), &two_secret, None);
        let revoked_at = |grant: &crate::service::token::TokenGrant| {
            w.store
                .find_token(&grant.tokens.access_token.digest())
                .unwrap()
                .unwrap()
                .revoked_at
        };
        w.clock.set(t(30));

        assert_eq!(
            w.services
                .revoke_tokens_of(Some(&w.alice.id), Some(&one.id))
                .unwrap(),
            2
        );
        assert_eq!(revoked_at(&at_one), Some(t(30)));
        assert_eq!(revoked_at(&at_two), None);
        assert_eq!(w.services.revoke_tokens_of(None, Some(&two.id)).unwrap(), 2);
        assert_eq!(revoked_at(&at_two), Some(t(30)));
        let bob = crate::testing::sample_user("bob", "another horse");
        w.store.insert_user(&bob).unwrap();
        assert_eq!(w.services.revoke_tokens_of(Some(&bob.id), None).unwrap(), 0);
    }

    #[test]
    fn revoking_an_app_also_deletes_its_unused_codes() {
        use crate::params::Params;
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretPost);
        let request = w
            .services
            .validate_authorization(&Params::from_pairs([
                ("response_type", "code"),
                ("client_id", client.id.as_str()),
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ),
                ("code_challenge_method", "S256"),
            ]))
            .unwrap();
        let response = w
            .services
            .approve_authorization(
                &request,
                &w.alice.id,
                &crate::service::authorize::Login::default(),
            )
            .unwrap();
        let code = crate::secret::SecretDigest::of(response.param("code").unwrap());

        w.services
            .revoke_app(&w.alice.id, client.id.as_str())
            .unwrap();

        assert!(crate::ports::CodeRepository::find_code(&*w.store, &code)
            .unwrap()
            .is_none());
    }
}
