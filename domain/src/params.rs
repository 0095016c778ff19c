//! Request parameters (RFC 6749 §3.1, §3.2).
//!
//! A strict `application/x-www-form-urlencoded` decoder and a parameter bag
//! that remembers repetitions: a parameter may appear at most once, and a
//! parameter sent without a value is treated as omitted (RFC 6749 §3.1).
//! Invalid percent-encoding, invalid UTF-8 and NUL characters are refused
//! here, so that nothing malformed reaches the rules or the store.

use std::fmt;

use crate::error::OAuthError;

/// Largest form body or query string the server reads, in bytes.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// The decoded parameters of one request.
///
/// `Debug` shows the names only: the values include passwords, client
/// secrets, codes, verifiers and tokens.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Params")
            .field(
                "names",
                &self.pairs.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Params {
    /// Decodes a form body or query string.
    ///
    /// # Errors
    /// `invalid_request` for input over [`MAX_FORM_BYTES`], a bad `%` escape,
    /// invalid UTF-8 or a NUL character.
    pub fn parse_form(input: &[u8]) -> Result<Self, OAuthError> {
        if input.len() > MAX_FORM_BYTES {
            return Err(OAuthError::invalid_request("the request is too large"));
        }
        let mut pairs = Vec::new();
        for field in input.split(|&b| b == b'&') {
            if field.is_empty() {
                continue;
            }
            let (name, value) = match field.iter().position(|&b| b == b'=') {
                Some(at) => (&field[..at], &field[at + 1..]),
                None => (field, &[][..]),
            };
            pairs.push((decode_component(name)?, decode_component(value)?));
        }
        Ok(Self { pairs })
    }

    /// Builds a bag from already-decoded pairs (used by tests and adapters).
    #[must_use]
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        Self {
            pairs: pairs
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`, `None` when it is absent or empty.
    ///
    /// # Errors
    /// `invalid_request` when `name` appears more than once.
    pub fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut found = None;
        for (key, value) in &self.pairs {
            if key == name {
                if found.is_some() {
                    return Err(OAuthError::repeated(name));
                }
                found = Some(value.as_str());
            }
        }
        Ok(found.filter(|v| !v.is_empty()))
    }

    /// The value of `name`, which must be present.
    ///
    /// # Errors
    /// `invalid_request` when it is absent, empty or repeated.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)?.ok_or_else(|| OAuthError::missing(name))
    }

    /// Whether `name` appears at all (even empty).
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(key, _)| key == name)
    }

    /// The first parameter that appears more than once among `names`.
    #[must_use]
    pub fn first_repeated<'a>(&self, names: &[&'a str]) -> Option<&'a str> {
        names
            .iter()
            .find(|name| self.pairs.iter().filter(|(k, _)| k == *name).count() > 1)
            .copied()
    }

    /// Every pair, in order.
    #[must_use]
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a
/// space, `%XX` a byte; the result must be UTF-8 without NUL).
pub(crate) fn decode_component(raw: &[u8]) -> Result<String, OAuthError> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).copied().and_then(hex_value);
                let lo = raw.get(i + 2).copied().and_then(hex_value);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => bytes.push(hi << 4 | lo),
                    _ => {
                        return Err(OAuthError::invalid_request(
                            "the request has an invalid percent-encoding",
                        ))
                    }
                }
                i += 2;
            }
            _ => bytes.push(b),
        }
        i += 1;
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| OAuthError::invalid_request("the request is not valid UTF-8"))?;
    if text.contains('\0') {
        return Err(OAuthError::invalid_request(
            "the request contains a NUL character",
        ));
    }
    Ok(text)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use proptest::prelude::*;

    #[test]
    fn debug_shows_the_names_and_no_value() {
        let params = Params::parse_form(
            b"grant_type=password&password=hunter2-pw&client_secret=s3cr3t-cs&code=c0de-v",
        )
        .unwrap();

        let shown = format!("{params:?}");

        assert!(
            shown.contains("grant_type") && shown.contains("client_secret"),
            "{shown}"
        );
        for value in ["hunter2-pw", "s3cr3t-cs", "c0de-v"] {
            assert!(!shown.contains(value), "{value} in {shown}");
        }
    }

    #[test]
    fn decodes_plus_and_percent_escapes() {
        let params = Params::parse_form(b"a=x+y%26z&b=%C3%A9").unwrap();

        assert_eq!(params.get("a").unwrap(), Some("x y&z"));
        assert_eq!(params.get("b").unwrap(), Some("é"));
    }

    #[test]
    fn repeated_parameter_is_invalid_request() {
        let params = Params::parse_form(b"scope=a&scope=b").unwrap();

        assert_eq!(
            params.get("scope").unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn empty_parameter_is_treated_as_omitted() {
        let params = Params::parse_form(b"scope=&state").unwrap();

        assert_eq!(params.get("scope").unwrap(), None);
        assert_eq!(params.get("state").unwrap(), None);
        assert_eq!(
            params.require("scope").unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn malformed_input_is_refused() {
        for input in [&b"a=%ZZ"[..], b"a=%4", b"a=\xff\xfe", b"a=%00", b"a=x\0"] {
            let error = Params::parse_form(input).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidRequest, "{input:?}");
        }
    }

    #[test]
    fn oversized_input_is_refused() {
        let input = vec![b'a'; MAX_FORM_BYTES + 1];

        assert!(Params::parse_form(&input).is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_fails_only_with_invalid_request(input in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Err(error) = Params::parse_form(&input) {
                prop_assert_eq!(error.code, ErrorCode::InvalidRequest);
            }
        }

        #[test]
        fn encoded_pairs_round_trip(name in "[a-z_]{1,12}", value in "\\PC{0,40}") {
            let encoded: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(&name, &value)
                .finish();
            let params = Params::parse_form(encoded.as_bytes()).unwrap();
            let expected = if value.is_empty() { None } else { Some(value.as_str()) };
            prop_assert_eq!(params.get(&name).unwrap(), expected);
        }
    }

    proptest! {
        // Form-like input (escapes, separators, `+`) reaches the decoding
        // paths that random bytes rarely do.
        #[test]
        fn form_like_input_parses_or_is_invalid_request(input in "[a-z=&%+0-9A-Fa-f\\x00\\xff ]{0,96}") {
            match Params::parse_form(input.as_bytes()) {
                Ok(params) => {
                    for (name, value) in params.pairs() {
                        prop_assert!(!name.contains('\0') && !value.contains('\0'));
                        let _ = params.get(name);
                    }
                }
                Err(error) => prop_assert_eq!(error.code, ErrorCode::InvalidRequest),
            }
        }

        #[test]
        fn input_without_escapes_always_parses(input in "[a-z=&+]{0,96}") {
            let params = Params::parse_form(input.as_bytes()).unwrap();
            let fields = input.split('&').filter(|f| !f.is_empty()).count();
            prop_assert_eq!(params.pairs().len(), fields);
        }

        #[test]
        fn a_bad_escape_anywhere_is_invalid_request(prefix in "[a-z=&]{0,20}", bad in "%([g-zG-Z][0-9a-f]|[0-9a-f][g-zG-Z]|[0-9a-f]?)", suffix in "[g-z=&]{0,20}") {
            let input = format!("{prefix}{bad}{suffix}");
            let error = Params::parse_form(input.as_bytes()).unwrap_err();
            prop_assert_eq!(error.code, ErrorCode::InvalidRequest);
        }

        #[test]
        fn oversized_input_is_always_invalid_request(extra in 1usize..4096, byte in any::<u8>()) {
            let input = vec![byte; MAX_FORM_BYTES + extra];
            prop_assert_eq!(Params::parse_form(&input).unwrap_err().code, ErrorCode::InvalidRequest);
        }
    }
}
