//! The resource owner password credentials grant (RFC 6749 §4.3): the
//! password is checked by the hasher, under the brute-force limits of
//! [`super::super::throttle`].

use crate::client::Client;
use crate::error::OAuthError;
use crate::ids::UserId;
use crate::secret::PlainSecret;
use crate::time::Timestamp;
use crate::token::IssuedTokens;

use super::super::throttle::Attempt;
use super::super::{Grantee, Services};
use super::request::ScopeRequest;

impl Services {
    pub(super) fn password(
        &self,
        client: &Client,
        username: &str,
        password: &PlainSecret,
        scope: ScopeRequest<'_>,
        now: Timestamp,
        address: Option<&str>,
    ) -> Result<(Option<UserId>, IssuedTokens), OAuthError> {
        let scope = scope.resolve(&client.metadata.scope)?;
        let user = self.guarded(&Attempt::user(username, address), || {
            let user = self.ports.users.find_user_by_name(username)?;
            let verified = self
                .ports
                .hasher
                .verify(password.expose(), user.as_ref().map(|u| &u.password_hash));
            user.filter(|_| verified)
                .ok_or_else(|| OAuthError::invalid_grant("the username or password is incorrect"))
        })?;
        let grantee = Grantee {
            client,
            user: Some(user.id),
            authentication: None,
            scope,
        };
        let (records, issued) = self.mint(
            self.new_family(),
            &grantee,
            now,
            self.refresh_expiry(client, &grantee.scope, now),
        );
        self.ports
            .tokens
            .insert_tokens(&records)
            .map_err(|e| self.vanished(client, e))?;
        Ok((Some(user.id), issued))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::ports::ClientRepository;

    #[test]
    fn password_grant_checks_the_password() {
        let (w, client, secret) = with_basic_client();
        let wrong = password_pairs("alice", "nope", &[]);
        let unknown = password_pairs("bob", "nope", &[]);
        let missing = [("grant_type", "password"), ("username", "alice")];

        for (pairs, expected) in [
            (&wrong[..], ErrorCode::InvalidGrant),
            (&unknown[..], ErrorCode::InvalidGrant),
            (&missing[..], ErrorCode::InvalidRequest),
        ] {
            assert_eq!(
                error_of(token_basic(&w, &client, &secret, pairs)),
                expected,
                "{pairs:?}"
            );
        }
        let grant = password_grant(&w, &client, &secret);
        assert!(grant.tokens.refresh_token.is_some());
        assert_eq!(grant.user_id, Some(w.alice.id.to_string()));
    }

    #[test]
    fn failed_passwords_are_limited() {
        let (w, client, secret) = with_basic_client();
        let wrong_password = form(&password_pairs("alice", "nope", &[]));
        for _ in 0..10 {
            let error =
                w.services
                    .token_from(None, Some(&basic(&client, &secret)), &wrong_password);
            assert_eq!(error_of(error), ErrorCode::InvalidGrant);
        }
        let error = password_request(&w, &client, &secret)
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            (error.code, error.retry_after),
            (ErrorCode::SlowDown, Some(900))
        );
    }

    /// A hasher that runs `during` while it checks a password (bcrypt's
    /// wide window, made deterministic).
    struct HasherThen(Box<dyn Fn() + Send + Sync>);

    impl crate::ports::PasswordHasher for HasherThen {
        fn hash(
            &self,
            password: &str,
        ) -> Result<crate::user::PasswordHash, crate::error::StoreError> {
            crate::testing::PlainHasher.hash(password)
        }

        fn verify(&self, password: &str, hash: Option<&crate::user::PasswordHash>) -> bool {
            (self.0)();
            crate::testing::PlainHasher.verify(password, hash)
        }
    }

    #[test]
    fn user_deleted_during_the_password_check_is_invalid_grant() {
        use crate::ports::UserRepository;
        let (mut w, client, secret) = with_basic_client();
        let (store, alice) = (w.store.clone(), w.alice.id);
        w.services.ports.hasher = std::sync::Arc::new(HasherThen(Box::new(move || {
            store.delete_user(&alice).unwrap();
        })));
        // alice owns the client too: re-home it so only the user vanishes.
        let bob = crate::testing::sample_user("bob", "pw");
        w.store.insert_user(&bob).unwrap();
        let mut kept = client.clone();
        kept.owner = bob.id;
        w.reregister(&kept);

        let result = password_request(&w, &client, &secret);

        assert_eq!(error_of(result), ErrorCode::InvalidGrant);
    }

    #[test]
    fn client_deleted_during_the_password_check_is_invalid_client() {
        let (mut w, client, secret) = with_basic_client();
        let (store, id) = (w.store.clone(), client.id.clone());
        w.services.ports.hasher = std::sync::Arc::new(HasherThen(Box::new(move || {
            store.delete_client(&id).unwrap();
        })));

        let result = password_request(&w, &client, &secret);

        assert_eq!(error_of(result), ErrorCode::InvalidClient);
    }
}
