//! Scopes (RFC 6749 §3.3): an ordered set of scope tokens.
//!
//! `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, tokens separated by spaces.
//! Runs of spaces are tolerated on input; tokens are kept once each, in the
//! order first seen, and always written with single spaces.

use std::fmt;

use crate::error::OAuthError;

/// Longest scope string accepted, in bytes.
pub const MAX_SCOPE_LEN: usize = 1024;

/// The scope value of every OpenID Connect request (Core §3.1.2.1).
pub const OPENID: &str = "openid";
/// The scope value asking for a refresh token in an OpenID request (Core §11).
pub const OFFLINE_ACCESS: &str = "offline_access";
/// The scopes OpenID Connect defines (Core §5.4, §11), which every server
/// knows whatever `SCOPES` adds.
pub const OPENID_SCOPES: [&str; 4] = [OPENID, "profile", "email", OFFLINE_ACCESS];

/// A set of scope tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope(Vec<String>);

impl Scope {
    /// Parses a space-delimited scope string.
    ///
    /// # Errors
    /// `invalid_scope` when a token has a character outside the RFC 6749
    /// §3.3 syntax, or the string is longer than [`MAX_SCOPE_LEN`].
    pub fn parse(value: &str) -> Result<Self, OAuthError> {
        if value.len() > MAX_SCOPE_LEN {
            return Err(OAuthError::invalid_scope("the scope is too long"));
        }
        let mut tokens: Vec<String> = Vec::new();
        for token in value.split(' ').filter(|t| !t.is_empty()) {
            if !token.bytes().all(is_scope_char) {
                return Err(OAuthError::invalid_scope("the scope is malformed"));
            }
            if !tokens.iter().any(|t| t == token) {
                tokens.push(token.to_owned());
            }
        }
        Ok(Self(tokens))
    }

    /// Adds a token already known to be valid (taken from another scope).
    pub fn insert(&mut self, token: &str) {
        if !self.contains(token) {
            self.0.push(token.to_owned());
        }
    }

    /// [`OPENID_SCOPES`] followed by the tokens of `self` not among them:
    /// the scopes a server knows.
    #[must_use]
    pub fn with_openid_scopes(&self) -> Self {
        let mut scopes = Self(OPENID_SCOPES.iter().map(|s| (*s).to_owned()).collect());
        for token in self.tokens() {
            scopes.insert(token);
        }
        scopes
    }

    /// Whether the set is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `token` is in the set.
    #[must_use]
    pub fn contains(&self, token: &str) -> bool {
        self.0.iter().any(|t| t == token)
    }

    /// Whether every token of `self` is in `other`.
    #[must_use]
    pub fn is_subset_of(&self, other: &Self) -> bool {
        self.0.iter().all(|t| other.contains(t))
    }

    /// The tokens, in order.
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The scope to grant for a request: the requested scope when it is a
    /// subset of `allowed`, `allowed` itself when none was requested.
    ///
    /// # Errors
    /// `invalid_scope` when the request names a token outside `allowed`
    /// (RFC 6749 §3.3: never silently widened, and we refuse rather than drop).
    pub fn resolve(requested: Option<&str>, allowed: &Self) -> Result<Self, OAuthError> {
        match requested {
            None => Ok(allowed.clone()),
            Some(raw) => {
                let scope = Self::parse(raw)?;
                if scope.is_empty() {
                    Ok(allowed.clone())
                } else if scope.is_subset_of(allowed) {
                    Ok(scope)
                } else {
                    Err(OAuthError::invalid_scope(
                        "the requested scope exceeds the scope allowed",
                    ))
                }
            }
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

fn is_scope_char(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use proptest::prelude::*;

    fn scope(s: &str) -> Scope {
        Scope::parse(s).unwrap()
    }

    #[test]
    fn parses_tokens_once_each_in_order() {
        assert_eq!(scope("profile  email profile").to_string(), "profile email");
    }

    #[test]
    fn quotes_and_backslashes_are_not_scope_characters() {
        for bad in ["a\"b", "a\\b", "é", "a\tb", "<svg/onload=x>\u{7f}"] {
            assert_eq!(
                Scope::parse(bad).unwrap_err().code,
                ErrorCode::InvalidScope,
                "{bad}"
            );
        }
    }

    #[test]
    fn omitted_scope_means_the_allowed_scope() {
        let allowed = scope("profile email");

        assert_eq!(Scope::resolve(None, &allowed).unwrap(), allowed);
    }

    #[test]
    fn wider_scope_is_invalid_scope() {
        let allowed = scope("profile email");

        let error = Scope::resolve(Some("profile admin"), &allowed).unwrap_err();

        assert_eq!(error.code, ErrorCode::InvalidScope);
    }

    #[test]
    fn narrower_scope_is_granted_as_asked() {
        let allowed = scope("profile email");

        assert_eq!(
            Scope::resolve(Some("email"), &allowed).unwrap(),
            scope("email")
        );
    }

    #[test]
    fn overlong_scope_is_refused() {
        let long = "a ".repeat(MAX_SCOPE_LEN);

        assert_eq!(
            Scope::parse(&long).unwrap_err().code,
            ErrorCode::InvalidScope
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_fails_only_with_invalid_scope(input in "\\PC{0,64}") {
            if let Err(error) = Scope::parse(&input) {
                prop_assert_eq!(error.code, ErrorCode::InvalidScope);
            }
        }

        #[test]
        fn display_round_trips(tokens in proptest::collection::vec("[!#-\\[\\]-~]{1,8}", 0..6)) {
            let parsed = scope(&tokens.join(" "));
            prop_assert_eq!(Scope::parse(&parsed.to_string()).unwrap(), parsed);
        }

        #[test]
        fn a_subset_resolves_to_itself_and_a_superset_never_grows(
            allowed in proptest::collection::vec("[a-z]{1,6}", 1..5),
            extra in "[A-Z]{1,6}",
        ) {
            let allowed_scope = scope(&allowed.join(" "));
            let subset = allowed.first().cloned().unwrap_or_default();
            prop_assert_eq!(
                Scope::resolve(Some(&subset), &allowed_scope).unwrap(),
                scope(&subset)
            );
            let wider = format!("{subset} {extra}");
            prop_assert!(Scope::resolve(Some(&wider), &allowed_scope).is_err());
        }
    }

    proptest! {
        // Any printable ASCII with spaces: accepted scopes are well-formed
        // sets; refusals are always `invalid_scope`.
        #[test]
        fn accepted_scopes_are_valid_unique_tokens(input in "[ -~]{0,80}") {
            match Scope::parse(&input) {
                Ok(parsed) => {
                    let tokens: Vec<&str> = parsed.tokens().collect();
                    for (i, token) in tokens.iter().enumerate() {
                        prop_assert!(!token.is_empty() && token.bytes().all(is_scope_char));
                        prop_assert!(!tokens[..i].contains(token));
                    }
                    prop_assert_eq!(Scope::parse(&parsed.to_string()).unwrap(), parsed);
                    prop_assert!(!input.contains('"') && !input.contains('\\'));
                }
                Err(error) => {
                    prop_assert_eq!(error.code, ErrorCode::InvalidScope);
                    prop_assert!(input.contains('"') || input.contains('\\'));
                }
            }
        }

        #[test]
        fn oversized_scopes_are_invalid_scope(token in "[a-z]{1,8}", repeat in 200usize..400) {
            let long = format!("{token} ").repeat(repeat);
            prop_assume!(long.len() > MAX_SCOPE_LEN);
            prop_assert_eq!(Scope::parse(&long).unwrap_err().code, ErrorCode::InvalidScope);
        }

        #[test]
        fn resolve_fails_only_with_invalid_scope(requested in "\\PC{0,40}", allowed in "[a-z ]{0,20}") {
            let allowed = scope(&allowed);
            match Scope::resolve(Some(&requested), &allowed) {
                Ok(granted) => prop_assert!(granted.is_subset_of(&allowed)),
                Err(error) => prop_assert_eq!(error.code, ErrorCode::InvalidScope),
            }
        }
    }
}
