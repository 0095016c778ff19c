//! RP-Initiated Logout 1.0: what a logout request at the
//! `end_session_endpoint` may ask, and where the browser goes after it.
//!
//! - `id_token_hint` (§2) must be an ID token this server signed, expired
//!   or not (its `exp` is not checked: an RP keeps it for the session's
//!   length, not the token's), whose `iss` is ours; its `aud` names the
//!   client. With `client_id` too, both must name the same client (§2).
//! - `post_logout_redirect_uri` (§3) must be exactly one of that client's
//!   registered `post_logout_redirect_uris`; otherwise, or when no client
//!   can be determined, the request is refused and nobody is redirected
//!   (§3, §6: never an open redirector). `state` is echoed there (§3).
//! - The session ends at once only when the hint ties the request to it:
//!   its `sub` is the signed-in user and, when both the hint and the
//!   session carry a `sid`, the two are equal (a token of an earlier
//!   session of the same user does not end the current one unasked).
//!   Otherwise the user is asked (§2: "the OP SHOULD ask the End-User"),
//!   so that a link alone cannot log anyone out (§6).
//! - `logout_hint` and `ui_locales` are accepted and not used: only a
//!   verified ID token says who is logging out, and the pages speak one
//!   language.

use crate::client::Client;
use crate::error::OAuthError;
use crate::id_token::IdTokenClaims;
use crate::ids::{ClientId, UserId};
use crate::params::Params;

use super::authorize::MAX_STATE_LEN;
use super::Services;

/// The parameters of a logout request (RP-Initiated Logout 1.0 §2), each
/// at most once.
pub const LOGOUT_PARAMETERS: [&str; 6] = [
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "logout_hint",
    "ui_locales",
];

/// Longest `id_token_hint` accepted, in bytes (ours are well under 2 KB).
pub const MAX_ID_TOKEN_HINT_LEN: usize = 8192;

/// The browser session a logout request arrives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentSession<'a> {
    /// The signed-in user.
    pub user: UserId,
    /// The session's `sid` (`None` for a session from before it existed).
    pub sid: Option<&'a str>,
}

/// Where the browser goes once the request is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterLogout {
    /// To the client's registered `post_logout_redirect_uri`, with `state`:
    /// the full `Location`.
    Redirect(String),
    /// To the server's own "You are signed out" page.
    SignedOutPage,
}

/// How far the request is tied to the browser session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionMatch {
    /// Nobody is signed in: there is nothing to end.
    NoSession,
    /// The `id_token_hint` names the signed-in user (and its session).
    Tied,
    /// No hint, or a hint of another user or session: ask the user.
    Untied,
}

/// What to do with the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutStep {
    /// End it (on every instance), then go on.
    EndSession,
    /// Keep it (the user declined, or nobody is signed in), then go on.
    KeepSession,
    /// Show the confirmation page first.
    AskUser,
}

/// A valid logout request.
#[derive(Debug, Clone)]
pub struct LogoutRequest {
    /// The client that asks, if it could be determined.
    pub client: Option<Client>,
    /// The user the hint names, if there was a hint.
    pub hint_subject: Option<UserId>,
    /// How far the request is tied to the session.
    pub session: SessionMatch,
    /// Where the browser goes afterwards, whether the session ended or not.
    pub after: AfterLogout,
    /// The request's parameters as sent, for the confirmation form to post
    /// back.
    pub carried: Vec<(&'static str, String)>,
}

impl LogoutRequest {
    /// What to do, given the user's answer on the confirmation page
    /// (`None`: not asked yet). An explicit "no" keeps the session even
    /// when the hint was tied to it.
    #[must_use]
    pub fn step(&self, answer: Option<bool>) -> LogoutStep {
        match (self.session, answer) {
            (SessionMatch::NoSession, _) | (_, Some(false)) => LogoutStep::KeepSession,
            (SessionMatch::Tied, _) | (SessionMatch::Untied, Some(true)) => LogoutStep::EndSession,
            (SessionMatch::Untied, None) => LogoutStep::AskUser,
        }
    }
}

fn invalid(description: &'static str) -> OAuthError {
    OAuthError::invalid_request(description)
}

impl Services {
    /// Validates a logout request against the session it arrives in.
    ///
    /// # Errors
    /// `invalid_request` (shown to the user, never redirected) for a
    /// repeated parameter, a hint that is not ours, an unknown client, a
    /// `client_id` that contradicts the hint, or a
    /// `post_logout_redirect_uri` that is not registered; a store failure.
    pub fn validate_logout(
        &self,
        params: &Params,
        session: Option<CurrentSession<'_>>,
    ) -> Result<LogoutRequest, OAuthError> {
        if let Some(name) = params.first_repeated(&LOGOUT_PARAMETERS) {
            return Err(OAuthError::repeated(name));
        }
        let get = |name| params.get(name).ok().flatten();
        let state = get("state");
        if state.is_some_and(|s| s.len() > MAX_STATE_LEN) {
            return Err(invalid("state is too long"));
        }
        let hint = get("id_token_hint")
            .map(|h| self.verified_logout_hint(h))
            .transpose()?;
        let hint_client = hint
            .as_ref()
            .map(|claims| {
                self.known_client(
                    &claims.audience,
                    "the client of the id_token_hint no longer exists",
                )
            })
            .transpose()?;
        let named_client = match get("client_id") {
            Some(raw) => {
                let id = ClientId::parse(raw).ok_or_else(|| invalid("unknown client_id"))?;
                Some(self.known_client(&id, "unknown client_id")?)
            }
            None => None,
        };
        let client = match (hint_client, named_client) {
            (Some(hinted), Some(named)) if hinted.id != named.id => {
                return Err(invalid(
                    "client_id does not match the audience of the id_token_hint",
                ))
            }
            (hinted, named) => hinted.or(named),
        };
        let after = match get("post_logout_redirect_uri") {
            None => AfterLogout::SignedOutPage,
            Some(uri) => {
                let Some(client) = &client else {
                    return Err(invalid(
                        "post_logout_redirect_uri needs id_token_hint or client_id",
                    ));
                };
                if !client.metadata.allows_post_logout_redirect(uri) {
                    return Err(invalid(
                        "post_logout_redirect_uri is not registered for this client",
                    ));
                }
                AfterLogout::Redirect(with_state(uri, state))
            }
        };
        let session = match session {
            None => SessionMatch::NoSession,
            Some(current) if hint.as_ref().is_some_and(|h| ties(h, current)) => SessionMatch::Tied,
            Some(_) => SessionMatch::Untied,
        };
        let carried = LOGOUT_PARAMETERS
            .iter()
            .filter_map(|&name| get(name).map(|value| (name, value.to_owned())))
            .collect();
        Ok(LogoutRequest {
            client,
            hint_subject: hint.map(|h| h.subject),
            session,
            after,
            carried,
        })
    }

    /// The claims of an `id_token_hint` this server issued (any `exp`).
    fn verified_logout_hint(&self, token: &str) -> Result<IdTokenClaims, OAuthError> {
        if token.len() > MAX_ID_TOKEN_HINT_LEN {
            return Err(invalid("id_token_hint is too long"));
        }
        let claims = self
            .ports
            .id_tokens
            .verify_own(token)
            .ok_or_else(|| invalid("id_token_hint is not an ID token issued by this server"))?;
        if claims.issuer != self.policy.issuer {
            return Err(invalid("id_token_hint was issued by another server"));
        }
        Ok(claims)
    }

    fn known_client(&self, id: &ClientId, unknown: &'static str) -> Result<Client, OAuthError> {
        self.ports
            .clients
            .find_client(id)?
            .ok_or_else(|| invalid(unknown))
    }
}

/// Whether the hint names the signed-in user, in this session when both
/// carry a `sid`.
fn ties(hint: &IdTokenClaims, current: CurrentSession<'_>) -> bool {
    let same_session = match (hint.session_id.as_deref(), current.sid) {
        (Some(hinted), Some(current)) => hinted == current,
        _ => true,
    };
    hint.subject == current.user && same_session
}

/// `uri` with `state` appended to its query (RP-Initiated Logout 1.0 §3).
fn with_state(uri: &str, state: Option<&str>) -> String {
    match state {
        None => uri.to_owned(),
        Some(state) => {
            let encoded: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("state", state)
                .finish();
            let separator = if uri.contains('?') { '&' } else { '?' };
            format!("{uri}{separator}{encoded}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::AuthMethod;
    use crate::error::ErrorCode;
    use crate::id_token::{IdTokenClaims, JwsAlgorithm};
    use crate::ports::{ClientRepository, IdTokenSigner};
    use crate::service::fixtures::{world, World};
    use crate::testing::t;

    const SIGNED_OUT: &str = "https://client.example.com/signed-out";

    /// An ID token of `world`'s issuer for alice at `client`, in session
    /// `sid`, long expired.
    fn hint(world: &World, client: &Client, sid: Option<&str>) -> String {
        hint_with(
            world,
            client,
            world.alice.id,
            sid,
            &world.services.policy.issuer,
        )
    }

    fn hint_with(
        world: &World,
        client: &Client,
        subject: UserId,
        sid: Option<&str>,
        issuer: &str,
    ) -> String {
        let claims = IdTokenClaims {
            issuer: issuer.to_owned(),
            subject,
            audience: client.id.clone(),
            expires_at: t(60),
            issued_at: t(0),
            auth_time: Some(t(0)),
            nonce: None,
            access_token_hash: None,
            code_hash: None,
            authentication_methods: vec!["pwd".to_owned()],
            acr: None,
            session_id: sid.map(str::to_owned),
            user_claims: vec![],
        };
        world.signer.sign(JwsAlgorithm::Rs256, &claims).unwrap()
    }

    fn alice_session(world: &World, sid: Option<&'static str>) -> Option<CurrentSession<'static>> {
        Some(CurrentSession {
            user: world.alice.id,
            sid,
        })
    }

    fn validate(
        world: &World,
        pairs: &[(&str, &str)],
        session: Option<CurrentSession<'_>>,
    ) -> Result<LogoutRequest, OAuthError> {
        world
            .services
            .validate_logout(&Params::from_pairs(pairs.iter().copied()), session)
    }

    fn refused(world: &World, pairs: &[(&str, &str)]) -> String {
        let error = validate(world, pairs, alice_session(world, Some("s1"))).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        error.description.to_string()
    }

    #[test]
    fn a_hint_of_the_signed_in_session_ends_it_and_redirects_with_state() {
        let world = world();
        let (client, _) = world.client(AuthMethod::ClientSecretBasic);
        let token = hint(&world, &client, Some("s1"));

        let request = validate(
            &world,
            &[
                ("id_token_hint", &token),
                ("post_logout_redirect_uri", SIGNED_OUT),
                ("state", "st &é"),
            ],
            alice_session(&world, Some("s1")),
        )
        .unwrap();

        assert_eq!(request.session, SessionMatch::Tied);
        assert_eq!(request.step(None), LogoutStep::EndSession);
        assert_eq!(
            request.after,
            AfterLogout::Redirect(format!("{SIGNED_OUT}?state=st+%26%C3%A9"))
        );
        assert_eq!(request.client.map(|c| c.id), Some(client.id));
    }

    #[test]
    fn state_is_appended_to_a_registered_query() {
        assert_eq!(
            with_state("https://a.example/bye?x=1", Some("s")),
            "https://a.example/bye?x=1&state=s"
        );
        assert_eq!(
            with_state("https://a.example/bye", None),
            "https://a.example/bye"
        );
    }

    #[test]
    fn an_expired_hint_is_still_accepted() {
        let world = world();
        let (client, _) = world.client(AuthMethod::ClientSecretBasic);
        let token = hint(&world, &client, None);
        world.clock.set(t(1_000_000));

        let request = validate(
            &world,
            &[("id_token_hint", &token)],
            alice_session(&world, Some("s1")),
        )
        .unwrap();

        assert_eq!(request.step(None), LogoutStep::EndSession);
        assert_eq!(request.after, AfterLogout::SignedOutPage);
    }

    #[test]
    fn without_a_hint_or_with_another_users_or_sessions_hint_the_user_is_asked() {
        let world = world();
        let (client, _) = world.client(AuthMethod::ClientSecretBasic);
        let bob = UserId::from_random_bytes([9; 16]);
        let issuer = world.services.policy.issuer.clone();
        let cases = [
            vec![("client_id", client.id.as_str().to_owned())],
            vec![(
                "id_token_hint",
                hint_with(&world, &client, bob, Some("s1"), &issuer),
            )],
            vec![(
                "id_token_hint",
                hint(&world, &client, Some("an earlier session")),
            )],
        ];
        for pairs in cases {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let request = validate(&world, &pairs, alice_session(&world, Some("s1"))).unwrap();
            assert_eq!(request.session, SessionMatch::Untied, "{pairs:?}");
            assert_eq!(request.step(None), LogoutStep::AskUser);
            assert_eq!(request.step(Some(true)), LogoutStep::EndSession);
            assert_eq!(request.step(Some(false)), LogoutStep::KeepSession);
        }
    }

    #[test]
    fn a_declined_confirmation_keeps_even_a_tied_session() {
        let world = world();
        let (client, _) = world.client(AuthMethod::ClientSecretBasic);
        let token = hint(&world, &client, Some("s1"));
        let request = validate(
            &world,
            &[("id_token_hint", &token)],
            alice_session(&world, Some("s1")),
        )
        .unwrap();

        assert_eq!(request.step(Some(false)), LogoutStep::KeepSession);
    }

    #[test]
    fn a_hint_without_sid_or_a_session_without_sid_is_judged_by_sub() {
        let world = world();
        let (client, _) = world.client(AuthMethod::ClientSecretBasic);
        let with_sid = hint(&world, &client, Some("s1"));
        let without = hint(&world, &client, None);

        for (token, sid) in [(&with_sid, None), (&without, Some("s2"))] {
            let request = validate(
                &world,
                &[("id_token_hint", token)],
                alice_session(&world, sid),
            )
            .unwrap();
            assert_eq!(request.session, SessionMatch::Tied);
        }
    }

    #[test]
    fn nobody_signed_in_means_nothing_to_end_but_the_redirect_still_happens() {
        let world = world();
        let (client, _) = world.client(AuthMethod::ClientSecretBasic);

        let request = validate(
            &world,
            &[
                ("client_id", client.id.as_str()),
                ("post_logout_redirect_uri", SIGNED_OUT),
                ("state", "x"),
            ],
            None,
        )
        .unwrap();

        assert_eq!(request.session, SessionMatch::NoSession);
        assert_eq!(request.step(None), LogoutStep::KeepSession);
        assert_eq!(
            request.after,
            AfterLogout::Redirect(format!("{SIGNED_OUT}?state=x"))
        );
    }

    #[test]
    fn an_unregistered_or_almost_matching_redirect_is_refused() {
        let world = world();
        let (client, _) = world.client(AuthMethod::ClientSecretBasic);
        let token = hint(&world, &client, None);
        for uri in [
            "https://evil.example/",
            "https://client.example.com/cb",
            "https://client.example.com/signed-out/",
            "https://client.example.com/signed-out?x=1",
            "HTTPS://client.example.com/signed-out",
        ] {
            assert!(
                refused(
                    &world,
                    &[("id_token_hint", &token), ("post_logout_redirect_uri", uri)]
                )
                .contains("not registered"),
                "{uri}"
            );
        }
    }

    #[test]
    fn a_redirect_needs_a_client() {
        let world = world();
        assert!(refused(&world, &[("post_logout_redirect_uri", SIGNED_OUT)])
            .contains("needs id_token_hint or client_id"));
    }

    #[test]
    fn a_redirect_of_another_client_is_refused() {
        let world = world();
        let (client, _) = world.client(AuthMethod::ClientSecretBasic);
        let (mut other, _) = world.client_with_id(AuthMethod::None, "other");
        other.metadata.post_logout_redirect_uris =
            vec![crate::redirect_uri::RedirectUri::parse("https://other.example/bye").unwrap()];
        world.reregister(&other);
        let token = hint(&world, &client, None);

        assert!(refused(
            &world,
            &[
                ("id_token_hint", &token),
                ("post_logout_redirect_uri", "https://other.example/bye")
            ]
        )
        .contains("not registered"));
    }

    #[test]
    fn client_id_must_agree_with_the_hint() {
        let world = world();
        let (client, _) = world.client(AuthMethod::ClientSecretBasic);
        let (other, _) = world.client(AuthMethod::None);
        let token = hint(&world, &client, None);

        assert!(refused(
            &world,
            &[("id_token_hint", &token), ("client_id", other.id.as_str())]
        )
        .contains("does not match"));
        assert!(validate(
            &world,
            &[("id_token_hint", &token), ("client_id", client.id.as_str())],
            None
        )
        .is_ok());
    }

    #[test]
    fn garbage_foreign_or_overlong_hints_are_refused() {
        let world = world();
        let (client, _) = world.client(AuthMethod::ClientSecretBasic);
        let foreign = hint_with(
            &world,
            &client,
            world.alice.id,
            None,
            "https://evil.example",
        );
        assert!(refused(&world, &[("id_token_hint", "not.a.token")]).contains("not an ID token"));
        assert!(refused(&world, &[("id_token_hint", &foreign)]).contains("another server"));
        assert!(refused(
            &world,
            &[("id_token_hint", &"a".repeat(MAX_ID_TOKEN_HINT_LEN + 1))]
        )
        .contains("too long"));
    }

    #[test]
    fn unknown_clients_repeats_and_long_state_are_refused() {
        let world = world();
        let (client, _) = world.client(AuthMethod::ClientSecretBasic);
        let token = hint(&world, &client, None);
        world.store.delete_client(&client.id).unwrap();

        assert!(refused(&world, &[("id_token_hint", &token)]).contains("no longer exists"));
        assert!(refused(&world, &[("client_id", "nobody")]).contains("unknown client_id"));
        assert!(refused(&world, &[("state", "a"), ("state", "b")]).contains("state"));
        assert!(refused(&world, &[("state", &"s".repeat(MAX_STATE_LEN + 1))]).contains("too long"));
    }

    #[test]
    fn the_confirmation_form_carries_the_parameters_as_sent() {
        let world = world();
        let (client, _) = world.client(AuthMethod::ClientSecretBasic);
        let request = validate(
            &world,
            &[
                ("client_id", client.id.as_str()),
                ("state", "s"),
                ("ui_locales", "fr en"),
                ("unknown", "ignored"),
            ],
            alice_session(&world, None),
        )
        .unwrap();

        assert_eq!(
            request.carried,
            vec![
                ("client_id", client.id.as_str().to_owned()),
                ("state", "s".to_owned()),
                ("ui_locales", "fr en".to_owned()),
            ]
        );
    }
}
