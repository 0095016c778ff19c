//! The UserInfo endpoint's rule (OpenID Connect Core 1.0 §5.3): who the
//! access token's user is, and the claims its scope releases.

use crate::claims::released_claims;
use crate::id_token::ClaimValue;
use crate::ids::UserId;

use super::bearer::{presented_token, BearerError};
use super::Services;

/// The scope an access token needs at UserInfo (Core §5.3: the token of an
/// OpenID Connect authentication request, whose scope has `openid`).
pub const USERINFO_SCOPE: &str = "openid";

/// A UserInfo answer (Core §5.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// `sub`: the user's stable id, as in the ID token (Core §5.3.2: they
    /// MUST match).
    pub subject: UserId,
    /// The claims the token's scope releases, read from the user as they
    /// are now ([`released_claims`]).
    pub claims: Vec<(String, ClaimValue)>,
}

impl Services {
    /// Answers a UserInfo request whose token came in the `Authorization`
    /// header or as the `access_token` values of a form body (`body_tokens`,
    /// RFC 6750 §2.2).
    ///
    /// A client-credentials token has no user: it is `InvalidToken` (401),
    /// not `InsufficientScope`. Core §5.3 takes only an access token
    /// obtained from an OpenID Connect authentication request, so no scope
    /// could make this one usable here, and `insufficient_scope` would send
    /// the client to ask for one (RFC 6750 §3.1: `invalid_token` is a token
    /// "invalid for other reasons").
    ///
    /// # Errors
    /// A [`BearerError`]: `InsufficientScope("openid")` for a user's token
    /// without `openid`.
    pub fn userinfo(
        &self,
        authorization: Option<&str>,
        body_tokens: &[&str],
    ) -> Result<UserInfo, BearerError> {
        let token = presented_token(authorization, body_tokens)?;
        let (record, user) = self.active_access_token(token)?;
        let user = user
            .filter(|_| record.user_id.is_some())
            .ok_or(BearerError::InvalidToken)?;
        if !record.scope.contains(USERINFO_SCOPE) {
            return Err(BearerError::InsufficientScope(USERINFO_SCOPE));
        }
        Ok(UserInfo {
            subject: user.id,
            claims: released_claims(&user, &record.scope),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::AuthMethod;
    use crate::params::Params;
    use crate::scope::Scope;
    use crate::service::fixtures::{world, World};

    /// A world whose server and client know `openid`, and a token of
    /// alice's with `scope` (password grant) or of the client alone.
    fn token_of(w: &World, scope: &str, client_credentials: bool) -> String {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (mut client, secret) =
            w.client_with_id(AuthMethod::ClientSecretPost, &format!("openid-client-{n}"));
        client.metadata.scope = Scope::parse("openid profile email").unwrap();
        w.reregister(&client);
        let pairs: Vec<(&str, &str)> = if client_credentials {
            vec![("grant_type", "client_credentials"), ("scope", scope)]
        } else {
            vec![
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", crate::service::fixtures::ALICE_PASSWORD),
                ("scope", scope),
            ]
        };
        let mut all = vec![
            ("client_id", client.id.as_str()),
            ("client_secret", &secret),
        ];
        all.extend(pairs);
        let grant = w.services.token(None, &Params::from_pairs(all)).unwrap();
        grant.tokens.access_token.expose().to_owned()
    }

    fn claim_names(info: &UserInfo) -> Vec<&str> {
        info.claims.iter().map(|(name, _)| name.as_str()).collect()
    }

    #[test]
    fn the_answer_is_the_tokens_user_and_the_claims_of_its_scope() {
        let w = world();
        let token = token_of(&w, "openid email", false);

        let info = w
            .services
            .userinfo(Some(&format!("Bearer {token}")), &[])
            .unwrap();
        let by_body = w.services.userinfo(None, &[&token]).unwrap();

        assert_eq!(info.subject, w.alice.id);
        assert_eq!(info, by_body);
        // alice has no address: `email` releases nothing (omitted, not null).
        assert_eq!(claim_names(&info), Vec::<&str>::new());
        let profile = token_of(&w, "openid profile", false);
        let info = w.services.userinfo(None, &[&profile]).unwrap();
        assert_eq!(claim_names(&info), ["preferred_username", "updated_at"]);
    }

    #[test]
    fn the_claims_are_read_when_asked_not_when_the_token_was_issued() {
        let w = world();
        let token = token_of(&w, "openid profile", false);
        w.services
            .set_display_name(&w.alice.id, Some("Alice Liddell"))
            .unwrap();

        let info = w.services.userinfo(None, &[&token]).unwrap();

        assert!(info.claims.contains(&(
            "name".to_owned(),
            ClaimValue::Text("Alice Liddell".to_owned())
        )));
    }

    #[test]
    fn a_token_without_openid_is_insufficient_scope() {
        let w = world();
        let token = token_of(&w, "profile", false);

        let refused = w.services.userinfo(None, &[&token]);

        assert!(
            matches!(refused, Err(BearerError::InsufficientScope("openid"))),
            "{refused:?}"
        );
    }

    #[test]
    fn a_client_credentials_token_is_invalid_here_whatever_its_scope() {
        let w = world();
        for scope in ["openid", "profile"] {
            let token = token_of(&w, scope, true);
            let refused = w.services.userinfo(None, &[&token]);
            assert!(
                matches!(refused, Err(BearerError::InvalidToken)),
                "{scope}: {refused:?}"
            );
        }
    }

    #[test]
    fn unknown_refresh_and_doubly_sent_tokens_are_refused() {
        let w = world();
        let token = token_of(&w, "openid", false);
        let header = format!("Bearer {token}");

        assert!(matches!(
            w.services.userinfo(None, &["unknown"]),
            Err(BearerError::InvalidToken)
        ));
        assert!(matches!(
            w.services.userinfo(Some(&header), &[&token]),
            Err(BearerError::Repeated)
        ));
        assert!(matches!(
            w.services.userinfo(None, &[]),
            Err(BearerError::Missing)
        ));
    }
}
