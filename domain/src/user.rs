//! Users (resource owners) and their credentials.

use std::fmt;

use crate::ids::UserId;
use crate::time::Timestamp;

/// Shortest and longest accepted user names.
pub const USERNAME_LEN: std::ops::RangeInclusive<usize> = 3..=40;
/// Shortest and longest accepted passwords. bcrypt reads at most 72 bytes.
pub const PASSWORD_LEN: std::ops::RangeInclusive<usize> = 8..=72;

/// A user name: 3 to 40 of `[A-Za-z0-9._-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Validates a user name.
    ///
    /// # Errors
    /// A message safe to show on a form.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        if !USERNAME_LEN.contains(&value.len()) {
            return Err("must be 3 to 40 characters long");
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err("may contain only letters, digits, '.', '_' and '-'");
        }
        Ok(Self(value.to_owned()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a new password against the length rules.
///
/// # Errors
/// A message safe to show on a form.
pub fn check_new_password(password: &str) -> Result<(), &'static str> {
    if PASSWORD_LEN.contains(&password.len()) {
        Ok(())
    } else {
        Err("must be 8 to 72 bytes long")
    }
}

/// A password hash made by the [`crate::ports::PasswordHasher`] (bcrypt),
/// opaque to the domain.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a stored hash.
    #[must_use]
    pub fn new(hash: String) -> Self {
        Self(hash)
    }

    /// The hash as stored.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// A registered user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Identifier.
    pub id: UserId,
    /// Unique login name.
    pub username: Username,
    /// bcrypt hash of the password.
    pub password_hash: PasswordHash,
    /// When the account was created.
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_rules() {
        assert!(Username::parse("alice").is_ok());
        assert!(Username::parse("al").is_err());
        assert!(Username::parse("alice smith").is_err());
        assert!(Username::parse("<script>").is_err());
        assert!(Username::parse(&"a".repeat(41)).is_err());
    }

    #[test]
    fn password_length_rules() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough").is_ok());
        assert!(check_new_password(&"x".repeat(73)).is_err());
    }
}
