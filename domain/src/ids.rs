//! Identifiers. Users, tokens and token families are identified by UUIDs made
//! from the random port; clients by an opaque public string.

use std::fmt;

use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// An identifier made from 16 random bytes (a version 4 UUID).
            #[must_use]
            pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
                Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
            }

            /// Parses the hyphenated form, as stored.
            #[must_use]
            pub fn parse(value: &str) -> Option<Self> {
                Uuid::try_parse(value).ok().map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id! {
    /// Identifies a user (resource owner).
    UserId
}
uuid_id! {
    /// Identifies one stored access or refresh token.
    TokenId
}
uuid_id! {
    /// Identifies a token family: every token descended from one grant (one
    /// authorization code, one password or client-credentials request), so
    /// that replay detection and revocation can act on all of them at once.
    FamilyId
}

/// A client identifier (RFC 6749 §2.2): public, opaque, unique.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

impl ClientId {
    /// Longest client identifier accepted anywhere.
    pub const MAX_LEN: usize = 128;

    /// Parses a presented client id: 1 to 128 visible ASCII characters
    /// (RFC 6749 Appendix A.1 `VSCHAR`). Anything else cannot name a client.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        let valid = !value.is_empty()
            && value.len() <= Self::MAX_LEN
            && value.bytes().all(|b| (0x20..=0x7e).contains(&b));
        valid.then(|| Self(value.to_owned()))
    }

    /// A new identifier made from 16 random bytes (22 base64url characters).
    #[must_use]
    pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
        use base64::Engine;
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The identifier as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_rejects_control_characters_and_overlong_values() {
        assert!(ClientId::parse("abc\0").is_none());
        assert!(ClientId::parse("").is_none());
        assert!(ClientId::parse(&"a".repeat(129)).is_none());
        assert!(ClientId::parse("client-1").is_some());
    }

    #[test]
    fn uuid_ids_round_trip_through_their_text_form() {
        let id = UserId::from_random_bytes([9; 16]);

        assert_eq!(UserId::parse(&id.to_string()), Some(id));
    }
}
