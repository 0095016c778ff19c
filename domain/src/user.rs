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

/// Longest accepted e-mail address, in bytes (RFC 5321 §4.5.3.1.3: a path
/// is at most 256 octets with its angle brackets).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Longest accepted display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// An e-mail address (the OpenID Connect `email` claim, Core 1.0 §5.1),
/// stored as given; unique and compared after case folding
/// ([`EmailAddress::folded`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Validates an address: trimmed, at most [`MAX_EMAIL_BYTES`] bytes,
    /// `local@domain` with a non-empty local part of at most 64 bytes
    /// (RFC 5321 §4.5.3.1.1), a dotted domain of letters, digits and
    /// hyphens, and no spaces, control characters or quotes. A syntax check
    /// only: whether the address reaches anyone is what `email_verified`
    /// says.
    ///
    /// # Errors
    /// A message safe to show on a form.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let value = value.trim();
        if value.is_empty() || value.len() > MAX_EMAIL_BYTES {
            return Err("must be an e-mail address of at most 254 characters");
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return Err("must be an e-mail address like name@example.com");
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| {
                !c.is_whitespace()
                    && !crate::display_text::is_deceptive(c)
                    && !matches!(
                        c,
                        '@' | '"' | '(' | ')' | ',' | ':' | ';' | '<' | '>' | '[' | ']' | '\\'
                    )
            });
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err("must be an e-mail address like name@example.com");
        }
        Ok(Self(value.to_owned()))
    }

    /// The address as given.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key the address is unique under: see [`fold_email`].
    #[must_use]
    pub fn folded(&self) -> String {
        fold_email(&self.0)
    }
}

/// The key of an e-mail address: lower case, whole address. RFC 5321 §2.4
/// lets a mailbox's local part be case-sensitive, but no provider in use
/// treats it so, and two accounts differing only in case are a takeover
/// waiting to happen; so `Alice@Example.com` and `alice@example.com` are one.
#[must_use]
pub fn fold_email(address: &str) -> String {
    address.trim().to_lowercase()
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A display name (the OpenID Connect `name` claim, Core 1.0 §5.1), shown
/// to relying parties as who the user is, so under the rules of
/// [`crate::display_text`] like a client name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayName(String);

impl DisplayName {
    /// Validates a display name: trimmed, 1 to [`MAX_DISPLAY_NAME_CHARS`]
    /// characters, no control, invisible or text-direction characters.
    ///
    /// # Errors
    /// A message safe to show on a form.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let name = value.trim();
        if name.is_empty() || name.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err("must be 1 to 100 characters long");
        }
        if crate::display_text::first_deceptive(name).is_some() {
            return Err("must not contain control, invisible or text-direction characters");
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
    /// E-mail address, unique after folding, if any.
    pub email: Option<EmailAddress>,
    /// Whether an operator vouched for `email` (false unless one did).
    pub email_verified: bool,
    /// Display name, if any.
    pub name: Option<DisplayName>,
    /// When the e-mail address, the display name or the password last
    /// changed, or the account was created (the `updated_at` claim, Core
    /// 1.0 §5.1).
    pub updated_at: Timestamp,
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

    #[test]
    fn email_syntax_and_length_rules() {
        let email = EmailAddress::parse(" Alice@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Alice@Example.COM");
        assert_eq!(email.folded(), "alice@example.com");
        assert!(EmailAddress::parse("alice.smith+tag@mail.example.org").is_ok());
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@localhost",
            "alice@@example.com",
            "al ice@example.com",
            "alice@exa mple.com",
            "alice@-example.com",
            "alice@example..com",
            ".alice@example.com",
            "a..b@example.com",
            "alice\u{202E}@example.com",
            "<alice@example.com>",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let at_limit = format!("{}@{}com", "a".repeat(64), "b.".repeat(93));
        assert_eq!(at_limit.len(), 254);
        assert!(EmailAddress::parse(&at_limit).is_ok());
        let too_long = format!("alice@{}.com", "d.".repeat(124));
        assert!(too_long.len() > 254);
        assert!(EmailAddress::parse(&too_long).is_err());
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(EmailAddress::parse(&long_local).is_err());
    }

    #[test]
    fn display_names_follow_the_display_text_rules() {
        assert_eq!(
            DisplayName::parse("  Alice Smith ").unwrap().as_str(),
            "Alice Smith"
        );
        assert!(DisplayName::parse("Ålice Łukasiewicz 李").is_ok());
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"a".repeat(101)).is_err());
        assert!(DisplayName::parse(&"é".repeat(100)).is_ok());
        assert!(DisplayName::parse("Admin\u{202E}nimda").is_err());
        assert!(DisplayName::parse("Al\u{200B}ice").is_err());
        assert!(DisplayName::parse("Alice\nBob").is_err());
    }
}
