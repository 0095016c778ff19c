//! The browser session's state, typed: the pages read and write the
//! logged-in user, the CSRF token and the one-time message through these
//! methods, never through string keys (zero2prod's `TypedSession`).
//!
//! The state itself is kept by [`super::session_store`]; actix-session
//! stores each value as JSON under its key.

use std::future::{ready, Ready};

use actix_session::{Session, SessionExt, SessionGetError, SessionInsertError};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use domain::ids::UserId;
use domain::time::Timestamp;

/// The session key holding the logged-in user id (the session store reads
/// it too: a session outliving its login must lose it).
pub const USER_KEY: &str = "uid";
const CSRF_KEY: &str = "csrf";
/// When the user entered their password, in seconds since the epoch (the ID
/// token's `auth_time`, OpenID Connect Core §2).
const AUTH_TIME_KEY: &str = "auth_time";
/// The session's own id for relying parties (the ID token's `sid`, OpenID
/// Connect Front-Channel Logout §2); unlike the session key, it is not
/// renewed and not secret.
const SID_KEY: &str = "sid";
/// How the user signed in: RFC 8176 `amr` values ([`domain::authn::amr`]).
const AMR_KEY: &str = "amr";
const FLASH_KEY: &str = "flash";
/// A sign-in half done: the password was right, a second factor is still
/// owed ([`PendingLogin`]). The user is not logged in while it lasts.
const PENDING_LOGIN_KEY: &str = "pending_login";
/// The digest of the page (an authorization request) the last password
/// entry was made for: that request's `prompt=login` or `max_age` is then
/// satisfied, and the user is not sent to the login page again (no loop).
const LOGIN_FOR_KEY: &str = "login_for";

/// A sign-in waiting for its second factor: who gave the first one, when,
/// with which methods (`amr`), and the page to go to after.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingLogin {
    /// The user who gave the first factor.
    pub user_id: String,
    /// When the first factor was given, in seconds since the epoch (the
    /// ID token's `auth_time` once the sign-in completes).
    pub auth_time: i64,
    /// The methods given so far (`amr` values, e.g. `["pwd"]`).
    pub methods: Vec<String>,
    /// The local page to go to once signed in.
    pub next: Option<String>,
    /// When this pending sign-in stops being accepted, in seconds since
    /// the epoch (a few minutes after the first factor).
    pub expires_at: i64,
}

impl PendingLogin {
    /// The user, when the id parses.
    #[must_use]
    pub fn user(&self) -> Option<UserId> {
        UserId::parse(&self.user_id)
    }
}

/// The session of a page request.
pub struct TypedSession(Session);

impl TypedSession {
    /// The logged-in user's id, if any.
    ///
    /// # Errors
    /// A state that does not deserialise.
    pub fn user_id(&self) -> Result<Option<UserId>, SessionGetError> {
        Ok(self
            .0
            .get::<String>(USER_KEY)?
            .as_deref()
            .and_then(UserId::parse))
    }

    /// When the logged-in user entered their password (`None` for a
    /// session logged in before this was recorded).
    ///
    /// # Errors
    /// A state that does not deserialise.
    pub fn auth_time(&self) -> Result<Option<Timestamp>, SessionGetError> {
        Ok(self
            .0
            .get::<i64>(AUTH_TIME_KEY)?
            .and_then(Timestamp::from_unix_seconds))
    }

    /// The session id given to relying parties (`sid`).
    ///
    /// # Errors
    /// A state that does not deserialise.
    pub fn sid(&self) -> Result<Option<String>, SessionGetError> {
        self.0.get::<String>(SID_KEY)
    }

    /// How the logged-in user signed in (`amr` values); empty for a
    /// session logged in before methods were recorded (the domain reads
    /// that as a password login: `approve_authorization`).
    ///
    /// # Errors
    /// A state that does not deserialise.
    pub fn amr(&self) -> Result<Vec<String>, SessionGetError> {
        Ok(self.0.get::<Vec<String>>(AMR_KEY)?.unwrap_or_default())
    }

    /// Records more methods for the signed-in user (a second factor given
    /// after the password, or a step-up): `methods` replace the old ones.
    ///
    /// # Errors
    /// A value that does not serialise.
    pub fn set_amr(&self, methods: &[String]) -> Result<(), SessionInsertError> {
        self.0.insert(AMR_KEY, methods)
    }

    /// Records a sign-in half done (the password was right, a second
    /// factor is owed). The session key is renewed: the state changed
    /// from anonymous to partly authenticated (OWASP ASVS 5.0 §7.2.4).
    ///
    /// # Errors
    /// A value that does not serialise.
    pub fn set_pending_login(&self, pending: &PendingLogin) -> Result<(), SessionInsertError> {
        self.0.renew();
        self.0.insert(PENDING_LOGIN_KEY, pending)
    }

    /// The sign-in waiting for its second factor, if any (expired or
    /// not: the caller compares `expires_at` with its clock).
    ///
    /// # Errors
    /// A state that does not deserialise.
    pub fn pending_login(&self) -> Result<Option<PendingLogin>, SessionGetError> {
        self.0.get::<PendingLogin>(PENDING_LOGIN_KEY)
    }

    /// Forgets the pending sign-in (completed, abandoned or expired).
    pub fn clear_pending_login(&self) {
        if self.0.contains_key(PENDING_LOGIN_KEY) {
            self.0.remove(PENDING_LOGIN_KEY);
        }
    }

    /// Forgets the logged-in user (deleted since they logged in).
    pub fn forget_user(&self) {
        self.0.remove(USER_KEY);
    }

    /// The CSRF token of a logged-in session.
    ///
    /// # Errors
    /// A state that does not deserialise.
    pub fn csrf_token(&self) -> Result<Option<String>, SessionGetError> {
        self.0.get::<String>(CSRF_KEY)
    }

    /// Starts an authenticated session for `user`, who signed in at
    /// `auth_time` with `methods` (`amr` values): a new session key (no
    /// fixation, OWASP ASVS 5.0 §7.2.4), the new CSRF token and the new
    /// `sid`.
    ///
    /// # Errors
    /// A value that does not serialise.
    pub fn log_in(
        &self,
        user: &UserId,
        csrf_token: &str,
        auth_time: Timestamp,
        sid: &str,
        methods: &[String],
    ) -> Result<(), SessionInsertError> {
        self.0.renew();
        // A login made for an earlier request must not count for a later
        // one (renew keeps the state).
        self.0.remove(LOGIN_FOR_KEY);
        self.0.remove(PENDING_LOGIN_KEY);
        self.0.insert(USER_KEY, user.to_string())?;
        self.0.insert(CSRF_KEY, csrf_token)?;
        self.0.insert(AUTH_TIME_KEY, auth_time.unix_seconds())?;
        self.0.insert(SID_KEY, sid)?;
        self.0.insert(AMR_KEY, methods)?;
        Ok(())
    }

    /// Records that the password was just entered to reach `next` (its
    /// digest, in hex).
    ///
    /// # Errors
    /// A value that does not serialise.
    pub fn set_login_for(&self, next_digest: &str) -> Result<(), SessionInsertError> {
        self.0.insert(LOGIN_FOR_KEY, next_digest)
    }

    /// The digest of the page the last password entry was made for.
    ///
    /// # Errors
    /// A state that does not deserialise.
    pub fn login_for(&self) -> Result<Option<String>, SessionGetError> {
        self.0.get::<String>(LOGIN_FOR_KEY)
    }

    /// Forgets [`Self::login_for`] (the request it was for is answered).
    pub fn clear_login_for(&self) {
        if self.0.contains_key(LOGIN_FOR_KEY) {
            self.0.remove(LOGIN_FOR_KEY);
        }
    }

    /// Ends the session everywhere (the server-side row is deleted).
    pub fn log_out(&self) {
        self.0.purge();
    }

    /// Takes the one-time message left for this page, if any.
    pub fn take_flash(&self) -> Option<String> {
        // Only touch the flash when there is one: a removal marks the session
        // changed, which costs a write.
        if self.0.contains_key(FLASH_KEY) {
            self.0.remove_as::<String>(FLASH_KEY).and_then(Result::ok)
        } else {
            None
        }
    }

    /// Leaves a one-time message for the next page.
    pub fn flash(&self, message: &str) {
        let _ = self.0.insert(FLASH_KEY, message);
    }
}

impl FromRequest for TypedSession {
    type Error = <Session as FromRequest>::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(request.get_session())))
    }
}
