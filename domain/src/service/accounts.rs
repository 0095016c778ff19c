//! User accounts: sign-up, log-in, password changes.

use super::throttle::{Attempt, Checked};
use crate::client::FieldError;
use crate::device::KnownDevice;
use crate::error::{OAuthError, StoreError};
use crate::ids::UserId;
use crate::user::{check_new_password, DisplayName, EmailAddress, User, Username};

use super::Services;

/// Why a sign-up was refused.
#[derive(Debug)]
pub enum SignUpError {
    /// Fields break rules, one error per problem, safe to show.
    Invalid(Vec<FieldError>),
    /// The username is taken.
    Taken,
    /// The e-mail address is another user's (compared case-insensitively).
    EmailTaken,
    /// Too many sign-ups from this address (`slow_down`).
    Throttled(OAuthError),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for SignUpError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict => Self::Taken,
            other => Self::Store(other),
        }
    }
}

/// Why a password was not set.
#[derive(Debug)]
pub enum SetPasswordError {
    /// The password breaks a rule of new passwords: why, safe to show.
    Weak(&'static str),
    /// There is no such user.
    NotFound,
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for SetPasswordError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// What a sign-up asks for: the credentials and the optional claims.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewAccount<'a> {
    /// The user name.
    pub username: &'a str,
    /// The new password.
    pub password: &'a str,
    /// The e-mail address; `None` or blank for none.
    pub email: Option<&'a str>,
    /// Whether the address is verified: only an operator may say so.
    pub email_verified: bool,
    /// The display name; `None` or blank for none.
    pub name: Option<&'a str>,
}

/// Why a user's e-mail address or display name was not changed.
#[derive(Debug)]
pub enum SetClaimError {
    /// The value breaks a rule: why, safe to show.
    Invalid(&'static str),
    /// The e-mail address is another user's.
    EmailTaken,
    /// There is no such user.
    NotFound,
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for SetClaimError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict => Self::EmailTaken,
            other => Self::Store(other),
        }
    }
}

/// `raw` unless it is missing or blank: an optional field left empty.
fn given(raw: Option<&str>) -> Option<&str> {
    raw.filter(|value| !value.trim().is_empty())
}

impl Services {
    /// Every user, for the operator.
    ///
    /// # Errors
    /// Store failures only.
    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        self.ports.users.list_users()
    }

    /// The user `id`, if there is one.
    ///
    /// # Errors
    /// Store failures only.
    pub fn find_user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.ports.users.find_user(id)
    }

    /// The user named `username` under any spelling of the name, if any.
    ///
    /// # Errors
    /// Store failures only.
    pub fn find_user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.ports.users.find_user_by_name(username)
    }

    /// Whether `device` speaks for `username` now, i.e. whether a log-in
    /// showing it is counted under the device alone (see
    /// [`Services::log_in_from`]).
    #[must_use]
    pub fn is_known_device(&self, device: &KnownDevice, username: &str) -> bool {
        device.is_for(username, self.ports.clock.now())
    }

    /// Creates an account.
    ///
    /// # Errors
    /// A [`SignUpError`].
    pub fn sign_up(&self, username: &str, password: &str) -> Result<User, SignUpError> {
        self.create_account(&NewAccount {
            username,
            password,
            ..NewAccount::default()
        })
    }

    /// Creates an account with its claims. The id is fresh random bytes,
    /// so a user created under the name of a deleted one is another
    /// subject (OpenID Connect Core 1.0 §2: `sub` is never reassigned).
    ///
    /// # Errors
    /// A [`SignUpError`]: `EmailTaken` when another user has the address
    /// under any case.
    pub fn create_account(&self, account: &NewAccount<'_>) -> Result<User, SignUpError> {
        let NewAccount {
            username, password, ..
        } = *account;
        let mut problems = Vec::new();
        let mut problem = |field, message: &str| {
            problems.push(FieldError {
                field,
                message: message.to_owned(),
            });
        };
        let name = Username::parse(username)
            .map_err(|m| problem("username", m))
            .ok();
        if let Err(message) = check_new_password(username, password) {
            problem("password", message);
        }
        let email = given(account.email)
            .map(EmailAddress::parse)
            .transpose()
            .map_err(|m| problem("email", m))
            .ok()
            .flatten();
        let display_name = given(account.name)
            .map(DisplayName::parse)
            .transpose()
            .map_err(|m| problem("name", m))
            .ok()
            .flatten();
        let Some(username) = name.filter(|_| problems.is_empty()) else {
            return Err(SignUpError::Invalid(problems));
        };
        if let Some(email) = &email {
            if self
                .ports
                .users
                .find_user_by_email(&email.folded())?
                .is_some()
            {
                return Err(SignUpError::EmailTaken);
            }
        }
        let now = self.ports.clock.now();
        let user = User {
            id: UserId::from_random_bytes(self.ports.random.id_bytes()),
            username,
            password_hash: self.ports.hasher.hash(password)?,
            created_at: now,
            updated_at: now,
            email_verified: email.is_some() && account.email_verified,
            email,
            name: display_name,
        };
        match self.ports.users.insert_user(&user) {
            Ok(()) => Ok(user),
            // Which key was taken: a concurrent sign-up may have taken the
            // address since the check above.
            Err(StoreError::Conflict) => match &user.email {
                Some(email)
                    if self
                        .ports
                        .users
                        .find_user_by_email(&email.folded())?
                        .is_some_and(|other| other.username.folded() != user.username.folded()) =>
                {
                    Err(SignUpError::EmailTaken)
                }
                _ => Err(SignUpError::Taken),
            },
            Err(other) => Err(other.into()),
        }
    }

    /// Checks a username and password; `None` when either is wrong (the two
    /// cases take the same time and give the same answer).
    ///
    /// # Errors
    /// Store failures only.
    pub fn log_in(&self, username: &str, password: &str) -> Result<Option<User>, StoreError> {
        let user = self.ports.users.find_user_by_name(username)?;
        let verified = self
            .ports
            .hasher
            .verify(password, user.as_ref().map(|u| &u.password_hash));
        Ok(user.filter(|_| verified))
    }

    /// Creates an account for a visitor at `address`: at most the
    /// per-account limit of sign-ups per address within the window. The
    /// count and the check are one atomic step, and every sign-up counts.
    ///
    /// # Errors
    /// A [`SignUpError`]; `Throttled` over the limit.
    pub fn sign_up_from(
        &self,
        address: Option<&str>,
        account: &NewAccount<'_>,
    ) -> Result<User, SignUpError> {
        // Never released: the reservation is the sign-up's count.
        let _counted = self
            .reserve_attempt(&Attempt::sign_up(address))
            .map_err(SignUpError::Throttled)?;
        // A visitor cannot vouch for their own address.
        self.create_account(&NewAccount {
            email_verified: false,
            ..*account
        })
    }

    /// Sets (or with `None`, removes) a user's e-mail address. A changed
    /// address is unverified unless `verified`; setting the same address
    /// again keeps its state unless `verified` says it is verified now.
    ///
    /// # Errors
    /// A [`SetClaimError`]; `EmailTaken` when another user has it.
    pub fn set_email(
        &self,
        id: &UserId,
        email: Option<&str>,
        verified: bool,
    ) -> Result<(), SetClaimError> {
        let email = given(email)
            .map(EmailAddress::parse)
            .transpose()
            .map_err(SetClaimError::Invalid)?;
        let Some(user) = self.ports.users.find_user(id)? else {
            return Err(SetClaimError::NotFound);
        };
        if let Some(email) = &email {
            let holder = self.ports.users.find_user_by_email(&email.folded())?;
            if holder.is_some_and(|other| other.id != user.id) {
                return Err(SetClaimError::EmailTaken);
            }
        }
        let unchanged = email.as_ref().map(EmailAddress::folded)
            == user.email.as_ref().map(EmailAddress::folded);
        let verified = email.is_some() && (verified || (unchanged && user.email_verified));
        let now = self.ports.clock.now();
        if !self
            .ports
            .users
            .set_email(id, email.as_ref(), verified, now)?
        {
            return Err(SetClaimError::NotFound);
        }
        Ok(())
    }

    /// Sets (or with `None`, removes) a user's display name.
    ///
    /// # Errors
    /// A [`SetClaimError`].
    pub fn set_display_name(&self, id: &UserId, name: Option<&str>) -> Result<(), SetClaimError> {
        let name = given(name)
            .map(DisplayName::parse)
            .transpose()
            .map_err(SetClaimError::Invalid)?;
        if !self
            .ports
            .users
            .set_name(id, name.as_ref(), self.ports.clock.now())?
        {
            return Err(SetClaimError::NotFound);
        }
        Ok(())
    }

    /// Logs in from `address` under the brute-force limits of
    /// [`super::throttle`]: `Ok(None)` for a wrong name or password (counted
    /// as a failure). A browser showing a device cookie for `username`
    /// (`device`) is counted under that device alone, others under the
    /// name, the name from this address and the address.
    ///
    /// # Errors
    /// `slow_down` while over the limit; a store failure.
    pub fn log_in_from(
        &self,
        address: Option<&str>,
        device: Option<&KnownDevice>,
        username: &str,
        password: &str,
    ) -> Result<Option<User>, OAuthError> {
        let attempt = Attempt::log_in(username, address, device, self.ports.clock.now());
        let reservation = self.reserve_attempt(&attempt)?;
        let user = self.log_in(username, password);
        self.settle(
            reservation,
            match &user {
                Ok(Some(_)) => Checked::Passed,
                Ok(None) => Checked::Failed,
                Err(_) => Checked::Unanswered,
            },
        );
        Ok(user?)
    }

    /// Sets a new password (under the rules of a new one) and ends what the
    /// old one let anyone obtain: every browser session of the user, on
    /// every instance, every unused code and every token.
    ///
    /// # Errors
    /// A [`SetPasswordError`].
    pub fn set_password(&self, id: &UserId, password: &str) -> Result<(), SetPasswordError> {
        let Some(user) = self.ports.users.find_user(id)? else {
            return Err(SetPasswordError::NotFound);
        };
        check_new_password(user.username.as_str(), password).map_err(SetPasswordError::Weak)?;
        let hash = self.ports.hasher.hash(password)?;
        // Deleted since the lookup: nothing to end.
        if !self
            .ports
            .users
            .set_password(id, &hash, self.ports.clock.now())?
        {
            return Err(SetPasswordError::NotFound);
        }
        self.end_access_of(id)?;
        Ok(())
    }

    /// Deletes a user with their clients, codes and tokens, and ends their
    /// browser sessions everywhere; false when there is no such user.
    ///
    /// # Errors
    /// Store failures only.
    pub fn delete_user(&self, id: &UserId) -> Result<bool, StoreError> {
        // Sessions first: a session that outlived the row could still
        // reach pages that trust it while the deletion runs.
        self.ports.sessions.end_sessions_of(id)?;
        self.ports.users.delete_user(id)
    }

    /// Ends what a stolen password let anyone obtain (OWASP ASVS 5.0
    /// §7.4.3: terminate all sessions after a password change). Sessions
    /// first, so that no session can mint a new code after the sweep;
    /// then unused codes (RFC 6749 §10.5: a code must not outlive its
    /// authorization), then every token.
    fn end_access_of(&self, id: &UserId) -> Result<(), StoreError> {
        self.ports.sessions.end_sessions_of(id)?;
        self.ports.codes.delete_unused_codes_of_user(id)?;
        self.revoke_tokens_of(Some(id), None)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::service::fixtures::{world, World, ALICE_PASSWORD};

    #[test]
    fn sign_up_validates_and_refuses_taken_names() {
        let w = world();

        assert!(
            matches!(w.services.sign_up("bo", "short"), Err(SignUpError::Invalid(p)) if p.len() == 2)
        );
        let Err(SignUpError::Invalid(problems)) = w.services.sign_up("a b", "long enough") else {
            panic!("a name with a space was accepted");
        };
        assert_eq!(
            problems.iter().map(|p| p.field).collect::<Vec<_>>(),
            ["username"]
        );
        assert!(matches!(
            w.services.sign_up("alice", "long enough"),
            Err(SignUpError::Taken)
        ));
        let bob = w.services.sign_up("bob", "long enough").unwrap();
        assert_eq!(
            w.services
                .log_in("bob", "long enough")
                .unwrap()
                .map(|u| u.id),
            Some(bob.id)
        );
    }

    /// A sign-up with no claims.
    fn account<'a>(username: &'a str, password: &'a str) -> NewAccount<'a> {
        NewAccount {
            username,
            password,
            ..NewAccount::default()
        }
    }

    #[test]
    fn sign_up_keeps_the_claims_and_refuses_a_taken_email_in_any_case() {
        let w = world();
        let bob = w
            .services
            .create_account(&NewAccount {
                email: Some("Bob@Example.com"),
                name: Some(" Bob Smith "),
                email_verified: true,
                ..account("bob", "long enough")
            })
            .unwrap();
        assert_eq!(
            bob.email.as_ref().map(EmailAddress::as_str),
            Some("Bob@Example.com")
        );
        assert!(bob.email_verified);
        assert_eq!(
            bob.name.as_ref().map(DisplayName::as_str),
            Some("Bob Smith")
        );
        assert_eq!(w.services.find_user(&bob.id).unwrap(), Some(bob));

        let taken = w.services.create_account(&NewAccount {
            email: Some("bob@EXAMPLE.com"),
            ..account("robert", "long enough")
        });
        assert!(matches!(taken, Err(SignUpError::EmailTaken)), "{taken:?}");
        let Err(SignUpError::Invalid(problems)) = w.services.create_account(&NewAccount {
            email: Some("not an address"),
            name: Some("Eve\u{202E}"),
            ..account("carol", "long enough")
        }) else {
            panic!("a bad address and name were accepted");
        };
        assert_eq!(
            problems.iter().map(|p| p.field).collect::<Vec<_>>(),
            ["email", "name"]
        );
        // Blank optional fields are no claim at all.
        let carol = w
            .services
            .create_account(&NewAccount {
                email: Some(" "),
                name: Some(""),
                ..account("carol", "long enough")
            })
            .unwrap();
        assert_eq!((carol.email, carol.name), (None, None));
    }

    #[test]
    fn updated_at_is_the_creation_then_each_change_of_email_name_or_password() {
        use crate::testing::t;
        let w = world();
        let updated = |w: &World, id| w.services.find_user(id).unwrap().unwrap().updated_at;
        w.clock.set(t(100));
        let bob = w
            .services
            .create_account(&account("bob", "long enough"))
            .unwrap();
        assert_eq!((bob.created_at, bob.updated_at), (t(100), t(100)));

        w.clock.set(t(200));
        w.services
            .set_email(&bob.id, Some("bob@example.com"), false)
            .unwrap();
        assert_eq!(updated(&w, &bob.id), t(200));
        w.clock.set(t(300));
        w.services.set_display_name(&bob.id, Some("Bob")).unwrap();
        assert_eq!(updated(&w, &bob.id), t(300));
        w.clock.set(t(400));
        w.services
            .set_password(&bob.id, "another long one")
            .unwrap();
        assert_eq!(updated(&w, &bob.id), t(400));
        assert_eq!(
            w.services.find_user(&bob.id).unwrap().unwrap().created_at,
            t(100)
        );
    }

    #[test]
    fn a_visitor_cannot_verify_their_own_email() {
        let w = world();
        let bob = w
            .services
            .sign_up_from(
                Some("192.0.2.5"),
                &NewAccount {
                    email: Some("bob@example.com"),
                    email_verified: true,
                    ..account("bob", "long enough")
                },
            )
            .unwrap();
        assert!(!bob.email_verified);
    }

    #[test]
    fn changing_the_email_resets_its_verification_unless_told() {
        let w = world();
        let id = w.alice.id;
        let alice = |w: &World| w.services.find_user(&id).unwrap().unwrap();
        w.services
            .set_email(&id, Some("alice@example.com"), true)
            .unwrap();
        assert!(alice(&w).email_verified);
        // The same address in another case: still verified.
        w.services
            .set_email(&id, Some("ALICE@example.com"), false)
            .unwrap();
        assert!(alice(&w).email_verified);
        w.services
            .set_email(&id, Some("alice@other.example"), false)
            .unwrap();
        let changed = alice(&w);
        assert_eq!(
            changed.email.map(|e| e.as_str().to_owned()).as_deref(),
            Some("alice@other.example")
        );
        assert!(!changed.email_verified);
        w.services.set_email(&id, None, true).unwrap();
        assert_eq!((alice(&w).email, alice(&w).email_verified), (None, false));

        w.services
            .create_account(&NewAccount {
                email: Some("bob@example.com"),
                ..account("bob", "long enough")
            })
            .unwrap();
        assert!(matches!(
            w.services.set_email(&id, Some("Bob@Example.com"), false),
            Err(SetClaimError::EmailTaken)
        ));
        assert!(matches!(
            w.services.set_email(&id, Some("bob"), false),
            Err(SetClaimError::Invalid(_))
        ));
        let nobody = UserId::from_random_bytes([9; 16]);
        assert!(matches!(
            w.services.set_email(&nobody, Some("x@example.com"), false),
            Err(SetClaimError::NotFound)
        ));
    }

    #[test]
    fn display_names_are_set_under_the_display_text_rules() {
        let w = world();
        let id = w.alice.id;
        w.services
            .set_display_name(&id, Some("Alice Liddell"))
            .unwrap();
        let name = w.services.find_user(&id).unwrap().unwrap().name;
        assert_eq!(
            name.as_ref().map(DisplayName::as_str),
            Some("Alice Liddell")
        );
        assert!(matches!(
            w.services.set_display_name(&id, Some("\u{202E}ecilA")),
            Err(SetClaimError::Invalid(_))
        ));
        let nobody = UserId::from_random_bytes([9; 16]);
        assert!(matches!(
            w.services.set_display_name(&nobody, Some("Nobody")),
            Err(SetClaimError::NotFound)
        ));
    }

    #[test]
    fn a_user_created_after_a_deleted_one_of_the_same_name_is_another_subject() {
        let w = world();
        let first = w.services.sign_up("bob", "long enough").unwrap();
        assert!(w.services.delete_user(&first.id).unwrap());
        let second = w.services.sign_up("bob", "long enough").unwrap();
        assert_ne!(first.id, second.id);
    }

    /// Whether a log-in (unthrottled) as `username` with `password` gets in.
    fn logs_in(w: &World, username: &str, password: &str) -> bool {
        w.services.log_in(username, password).unwrap().is_some()
    }

    /// A log-in as `username` with a wrong password from `address`, which
    /// must be checked and refused (not throttled).
    fn fail_log_in(w: &World, address: &str, username: &str) {
        assert!(w
            .services
            .log_in_from(Some(address), None, username, "wrong")
            .unwrap()
            .is_none());
    }

    /// Alice's log-in with her right password from `address`: whether she
    /// got in, or the code it was refused with.
    fn alice_logs_in_from(w: &World, address: &str) -> Result<bool, ErrorCode> {
        w.services
            .log_in_from(Some(address), None, "alice", ALICE_PASSWORD)
            .map(|user| user.is_some())
            .map_err(|error| error.code)
    }

    #[test]
    fn ten_failed_logins_lock_the_name_until_the_window_passes() {
        let w = world();
        for _ in 0..10 {
            fail_log_in(&w, "192.0.2.7", "alice");
        }

        assert_eq!(
            alice_logs_in_from(&w, "192.0.2.7"),
            Err(ErrorCode::SlowDown)
        );
        // The owner, elsewhere, is not locked out by someone else's guesses.
        assert_eq!(alice_logs_in_from(&w, "192.0.2.8"), Ok(true));

        w.clock.set(crate::testing::t(15 * 60));
        assert_eq!(alice_logs_in_from(&w, "192.0.2.7"), Ok(true));
    }

    #[test]
    fn sign_ups_from_one_address_are_limited() {
        let w = world();
        for n in 0..10 {
            assert!(w
                .services
                .sign_up_from(
                    Some("192.0.2.5"),
                    &account(&format!("user{n}"), "long enough")
                )
                .is_ok());
        }

        assert!(matches!(
            w.services
                .sign_up_from(Some("192.0.2.5"), &account("user10", "long enough")),
            Err(SignUpError::Throttled(_))
        ));
        assert!(w
            .services
            .sign_up_from(Some("192.0.2.6"), &account("user11", "long enough"))
            .is_ok());
    }

    #[test]
    fn concurrent_wrong_passwords_get_at_most_the_limit_of_checks() {
        let w = world();
        let outcomes: Vec<Result<Option<User>, OAuthError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..60)
                .map(|_| {
                    scope.spawn(|| {
                        w.services
                            .log_in_from(Some("192.0.2.7"), None, "alice", "wrong")
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });

        let checked = outcomes.iter().filter(|o| matches!(o, Ok(None))).count();
        let refused = outcomes
            .iter()
            .filter(|o| matches!(o, Err(e) if e.code == ErrorCode::SlowDown))
            .count();
        assert_eq!((checked, refused), (10, 50));
    }

    #[test]
    fn concurrent_sign_ups_create_at_most_the_limit_of_accounts() {
        let w = world();
        let created = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..60)
                .map(|n| {
                    let services = &w.services;
                    scope.spawn(move || {
                        services
                            .sign_up_from(
                                Some("192.0.2.5"),
                                &account(&format!("user{n}"), "long enough"),
                            )
                            .is_ok()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .filter(|ok| *ok)
                .count()
        });

        assert_eq!(created, 10);
    }

    #[test]
    fn a_browser_that_signed_in_before_is_not_locked_out_by_strangers() {
        let w = world();
        let device = w.services.new_known_device(&w.alice);
        for n in 0..200 {
            let address = format!("198.51.100.{}", n % 50);
            let _ = w
                .services
                .log_in_from(Some(&address), None, "alice", "guess");
        }

        assert_eq!(
            alice_logs_in_from(&w, "192.0.2.1"),
            Err(ErrorCode::SlowDown)
        );
        assert!(w
            .services
            .log_in_from(Some("198.51.100.1"), Some(&device), "alice", ALICE_PASSWORD)
            .unwrap()
            .is_some());
    }

    #[test]
    fn log_in_fails_alike_for_unknown_users_and_wrong_passwords() {
        let w = world();

        assert!(!logs_in(&w, "alice", "wrong"));
        assert!(!logs_in(&w, "nobody", "wrong"));
        assert!(logs_in(&w, "alice", ALICE_PASSWORD));
    }

    #[test]
    fn a_new_password_ends_the_users_sessions_and_unused_codes() {
        use crate::client::AuthMethod;
        use crate::code::AuthorizationCode;
        use crate::ports::CodeRepository;
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretPost);
        let bob = w.services.sign_up("bob", "long enough").unwrap();
        w.store.add_session("alice-1", Some(w.alice.id));
        w.store.add_session("alice-2", Some(w.alice.id));
        w.store.add_session("bob-1", Some(bob.id));
        w.store.add_session("anonymous", None);
        let code = |user, n: u8| AuthorizationCode {
            digest: crate::secret::SecretDigest::of(&format!("code-{n}")),
            client_id: client.id.clone(),
            user_id: user,
            redirect_uri: None,
            scope: crate::scope::Scope::parse("profile").unwrap(),
            challenge: crate::pkce::CodeChallenge::from_stored(
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
            ),
            family: crate::ids::FamilyId::from_random_bytes([n; 16]),
            issued_at: crate::testing::t(0),
            expires_at: crate::testing::t(60),
            used_at: None,
            nonce: None,
            authentication: None,
        };
        w.store.insert_code(&code(w.alice.id, 1)).unwrap();
        w.store.insert_code(&code(bob.id, 2)).unwrap();

        w.services
            .set_password(&w.alice.id, "another long one")
            .unwrap();

        assert!(!w.store.has_session("alice-1"));
        assert!(!w.store.has_session("alice-2"));
        assert!(w.store.has_session("bob-1"));
        assert!(w.store.has_session("anonymous"));
        let codes = w.store.all_codes();
        assert_eq!(codes.len(), 1);
        assert_eq!(codes[0].user_id, bob.id);
    }

    #[test]
    fn a_new_password_follows_the_new_password_rules() {
        let w = world();
        let reason = |password| match w.services.set_password(&w.alice.id, password) {
            Err(SetPasswordError::Weak(reason)) => Some(reason),
            _ => None,
        };

        assert_eq!(
            reason("password"),
            Some("is one of the most common passwords: choose another")
        );
        assert_eq!(reason("alice-2026"), Some("must not contain the user name"));
        assert!(matches!(
            w.services.set_password(
                &crate::ids::UserId::from_random_bytes([9; 16]),
                "long enough"
            ),
            Err(SetPasswordError::NotFound)
        ));
        assert!(logs_in(&w, "alice", ALICE_PASSWORD));
    }

    #[test]
    fn users_are_listed_and_found_by_id_and_by_any_spelling() {
        let w = world();
        let bob = w.services.sign_up("bob", "long enough").unwrap();

        let mut names: Vec<String> = w
            .services
            .users()
            .unwrap()
            .into_iter()
            .map(|u| u.username.to_string())
            .collect();
        names.sort();
        assert_eq!(names, ["alice", "bob"]);
        assert_eq!(
            w.services.find_user(&bob.id).unwrap().map(|u| u.id),
            Some(bob.id)
        );
        assert_eq!(
            w.services.find_user_by_name("BOB").unwrap().map(|u| u.id),
            Some(bob.id)
        );
        assert!(w.services.find_user_by_name("carol").unwrap().is_none());
        assert!(w.services.delete_user(&bob.id).unwrap());
        assert!(w.services.find_user(&bob.id).unwrap().is_none());
    }

    #[test]
    fn a_device_is_known_only_for_its_own_name_and_lifetime() {
        let w = world();
        let device = w.services.new_known_device(&w.alice);

        assert!(w.services.is_known_device(&device, "alice"));
        assert!(!w.services.is_known_device(&device, "bob"));
        w.clock
            .set(crate::testing::t(0).plus(KnownDevice::LIFETIME));
        assert!(!w.services.is_known_device(&device, "alice"));
    }

    #[test]
    fn deleting_a_user_ends_their_sessions() {
        let w = world();
        w.store.add_session("alice-1", Some(w.alice.id));
        w.store.add_session("other", None);

        assert!(w.services.delete_user(&w.alice.id).unwrap());

        assert!(!w.store.has_session("alice-1"));
        assert!(w.store.has_session("other"));
    }

    #[test]
    fn names_that_differ_only_in_case_are_one_account() {
        let w = world();

        assert!(matches!(
            w.services.sign_up("ALICE", "long enough"),
            Err(SignUpError::Taken)
        ));
        assert!(matches!(
            w.services.sign_up("Alice", "long enough"),
            Err(SignUpError::Taken)
        ));
        let found = w.services.log_in("ALICE", ALICE_PASSWORD).unwrap();
        assert_eq!(
            found.map(|u| u.username.to_string()),
            Some("alice".to_owned())
        );
    }

    #[test]
    fn failures_under_any_spelling_of_a_name_count_against_one_account() {
        let w = world();
        // Ten spellings of one account: without folding, ten keys of one
        // failure each, and the limit never bites.
        for spelling in [
            "alice", "Alice", "aLice", "alIce", "aliCe", "alicE", "ALice", "AlIce", "ALICE",
            "aLICE",
        ] {
            fail_log_in(&w, "192.0.2.9", spelling);
        }

        assert_eq!(
            alice_logs_in_from(&w, "192.0.2.9"),
            Err(ErrorCode::SlowDown)
        );
    }

    #[test]
    fn a_new_password_revokes_the_users_tokens() {
        use crate::client::AuthMethod;
        use crate::ports::TokenRepository;
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretPost);
        let grant = w.password_grant(client.id.as_str(), &secret, None);

        w.services
            .set_password(&w.alice.id, "another long one")
            .unwrap();

        let token = w
            .store
            .find_token(&grant.tokens.access_token.digest())
            .unwrap()
            .unwrap();
        assert!(token.revoked_at.is_some());
    }
}
