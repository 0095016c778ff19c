//! Authorization codes (RFC 6749 §4.1.2, §10.5).
//!
//! A code is stored as a digest, bound to its client, user, redirect URI and
//! PKCE challenge, lives a short time, and can be redeemed once. Each code
//! carries the [`FamilyId`] its tokens will belong to, so that a replayed
//! code can revoke everything issued from it.

use crate::error::OAuthError;
use crate::id_token::Authentication;
use crate::ids::{ClientId, FamilyId, UserId};
use crate::pkce::CodeChallenge;
use crate::scope::Scope;
use crate::secret::SecretDigest;
use crate::time::Timestamp;

/// A stored authorization code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// SHA-256 of the code.
    pub digest: SecretDigest,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The user who approved it.
    pub user_id: UserId,
    /// The `redirect_uri` of the authorization request, if it had one; the
    /// token request must then repeat it exactly (RFC 6749 §4.1.3).
    pub redirect_uri: Option<String>,
    /// The scope approved.
    pub scope: Scope,
    /// The PKCE challenge (S256).
    pub challenge: CodeChallenge,
    /// The family of the tokens this code will issue.
    pub family: FamilyId,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it stops being redeemable.
    pub expires_at: Timestamp,
    /// When it was redeemed, if it was.
    pub used_at: Option<Timestamp>,
    /// The `nonce` of an OpenID request, exactly as sent, for its ID token
    /// (Core §3.1.2.1, §3.1.3.6); bound to this code alone.
    pub nonce: Option<String>,
    /// How the user signed in before approving (for `auth_time`, `sid`,
    /// `amr`); `None` outside OpenID requests.
    pub authentication: Option<Authentication>,
}

/// The parts of a token request that a code is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Redemption<'a> {
    /// The authenticated client.
    pub client_id: &'a ClientId,
    /// The `redirect_uri` of the token request.
    pub redirect_uri: Option<&'a str>,
    /// The client's registered redirect URIs.
    pub registered_redirect_uris: &'a [crate::redirect_uri::RedirectUri],
    /// The `code_verifier` of the token request.
    pub code_verifier: Option<&'a str>,
}

impl AuthorizationCode {
    /// Checks a redemption of an unused code (RFC 6749 §4.1.3, RFC 7636 §4.6):
    /// [`Self::check_proof`], then the lifetime.
    ///
    /// # Errors
    /// `invalid_grant` when the code is expired, belongs to another client,
    /// or the redirect URI or verifier does not match; `invalid_request` when
    /// the verifier is missing or malformed.
    pub fn check_redemption(
        &self,
        request: &Redemption<'_>,
        now: Timestamp,
    ) -> Result<(), OAuthError> {
        self.check_proof(request)?;
        if now >= self.expires_at {
            return Err(OAuthError::invalid_grant("the code has expired"));
        }
        Ok(())
    }

    /// Checks that the request comes from the holder the code is bound to:
    /// its client, its redirect URI and its PKCE verifier. A replayed code is
    /// only allowed to revoke what it issued after this passes (RFC 6749
    /// §4.1.2 "SHOULD revoke" must not hand a kill switch to another client
    /// or to someone holding a public client's spent code without its
    /// verifier). The lifetime is left out: a replay after expiry by the
    /// real client still revokes.
    ///
    /// # Errors
    /// As [`Self::check_redemption`], but never for expiry.
    pub fn check_proof(&self, request: &Redemption<'_>) -> Result<(), OAuthError> {
        if &self.client_id != request.client_id {
            return Err(OAuthError::invalid_grant(
                "the code was issued to another client",
            ));
        }
        // RFC 6749 §4.1.3: if the authorization request had a redirect_uri,
        // the token request must repeat it exactly. If it had none (the
        // client's only URI was used), a redirect_uri sent anyway must be
        // that registered URI.
        let redirect_ok = match (&self.redirect_uri, request.redirect_uri) {
            (Some(authorized), presented) => presented == Some(authorized.as_str()),
            (None, None) => true,
            (None, Some(presented)) => request
                .registered_redirect_uris
                .iter()
                .any(|r| r.as_str() == presented),
        };
        if !redirect_ok {
            return Err(OAuthError::invalid_grant(
                "redirect_uri must be identical to the one of the authorization request",
            ));
        }
        let verifier = request
            .code_verifier
            .ok_or_else(|| OAuthError::invalid_request("code_verifier is required (PKCE)"))?;
        self.challenge.verify(verifier)
    }
}
