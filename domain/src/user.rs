//! Users (resource owners) and their credentials.

use std::fmt;

use crate::ids::UserId;
use crate::time::Timestamp;

/// Shortest and longest accepted user names.
pub const USERNAME_LEN: std::ops::RangeInclusive<usize> = 3..=40;
/// Shortest and longest accepted new passwords, in characters (not bytes):
/// at least 64 characters in any script (OWASP ASVS 5.0 §6.2.1, §6.2.9).
/// The hasher pre-hashes, so bcrypt's 72-byte limit no longer applies; 256
/// characters (at most 1 KiB of UTF-8) bounds the work of a sign-up.
pub const PASSWORD_LEN: std::ops::RangeInclusive<usize> = 8..=256;

/// Fewer different characters than this is a repetition like `aaaaaaaa` or
/// eight spaces (NIST SP 800-63B §3.1.1.2: repetitive characters).
const MIN_DISTINCT_CHARS: usize = 4;

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

    /// The name, as typed at sign-up (what is displayed).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key the name is unique under and found by: see [`fold_username`].
    #[must_use]
    pub fn folded(&self) -> String {
        fold_username(&self.0)
    }
}

/// RFC 8265 §3.3 (UsernameCaseMapped profile): names are compared after
/// case mapping, so that `alice` and `ALICE` are one account. Valid names
/// are ASCII only ([`Username::parse`]), where the profile's width mapping,
/// NFC and Unicode case folding reduce to ASCII lower-casing; non-ASCII
/// input (never a valid name) is left as it is, so it matches nobody.
#[must_use]
pub fn fold_username(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a new password of `username` (OWASP ASVS 5.0 §6.2; NIST SP
/// 800-63B §3.1.1.2): 8 to 256 characters, not one of the ~100,000 most
/// common passwords (the `passwords` crate's list, compared as typed and in
/// lower case), not a repetition of a few characters, and not built from
/// the user name (contained forwards or backwards, in any case). No
/// composition rules (NIST: they do not help).
///
/// # Errors
/// A message safe to show on a form, saying why.
pub fn check_new_password(username: &str, password: &str) -> Result<(), &'static str> {
    if !PASSWORD_LEN.contains(&password.chars().count()) {
        return Err("must be 8 to 256 characters long");
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < MIN_DISTINCT_CHARS {
        return Err("must use at least 4 different characters");
    }
    let lower = password.to_lowercase();
    if passwords::analyzer::is_common_password(password)
        || passwords::analyzer::is_common_password(&lower)
        || passwords::analyzer::is_common_password(lower.trim())
    {
        return Err("is one of the most common passwords: choose another");
    }
    let name = username.to_lowercase();
    let reversed: String = name.chars().rev().collect();
    if !name.is_empty() && (lower.contains(&name) || lower.contains(&reversed)) {
        return Err("must not contain the user name");
    }
    Ok(())
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
    fn password_length_rules_count_characters() {
        assert!(check_new_password("bob", "short").is_err());
        assert!(check_new_password("bob", "long enough").is_ok());
        // 64 characters of Cyrillic are 128 bytes: allowed (ASVS 5.0 §6.2.9).
        let cyrillic = "пароль-вот-такой-длинный-".repeat(3);
        let cyrillic: String = cyrillic.chars().take(64).collect();
        assert_eq!(cyrillic.chars().count(), 64);
        assert!(cyrillic.len() > 72);
        assert_eq!(check_new_password("bob", &cyrillic), Ok(()));
        let cjk: String = "密码很长而且很安全的句子"
            .chars()
            .cycle()
            .take(256)
            .collect();
        assert_eq!(check_new_password("bob", &cjk), Ok(()));
        let too_long: String = "abcdefghij".chars().cycle().take(257).collect();
        assert!(check_new_password("bob", &too_long).is_err());
    }

    #[test]
    fn common_passwords_are_refused_with_the_reason() {
        let common = Err("is one of the most common passwords: choose another");
        assert_eq!(check_new_password("bob", "password"), common);
        assert_eq!(check_new_password("bob", "12345678"), common);
        assert_eq!(check_new_password("bob", "qwertyuiop"), common);
        assert_eq!(check_new_password("bob", "PassWord"), common);
        assert_eq!(check_new_password("bob", "iloveyou"), common);
        assert_eq!(check_new_password("bob", "trustno1"), common);
    }

    #[test]
    fn repetitions_and_blank_passwords_are_refused() {
        assert!(check_new_password("bob", &" ".repeat(8)).is_err());
        assert!(check_new_password("bob", "abababababab").is_err());
        assert!(check_new_password("bob", "zzzzzzzzzz").is_err());
    }

    #[test]
    fn passwords_built_from_the_user_name_are_refused() {
        let name = Err("must not contain the user name");
        assert_eq!(check_new_password("dmitri_k", "dmitri_k"), name);
        assert_eq!(check_new_password("dmitri_k", "DMITRI_K2026!"), name);
        assert_eq!(check_new_password("dmitri_k", "k_irtimd-rocks"), name);
        assert_eq!(check_new_password("Dmitri_K", "my dmitri_k pass"), name);
        assert_eq!(check_new_password("dmitri_k", "correct horse"), Ok(()));
    }

    #[test]
    fn names_fold_to_ascii_lower_case() {
        let name = Username::parse("Alice.Smith").unwrap();
        assert_eq!(name.as_str(), "Alice.Smith");
        assert_eq!(name.folded(), "alice.smith");
        assert_eq!(fold_username("ALICE"), fold_username("alice"));
    }
}
