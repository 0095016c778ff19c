//! Redirection endpoints (RFC 6749 §3.1.2, RFC 8252 §7, RFC 9700 §2.1).
//!
//! Registration accepts only `https` URIs, `http` URIs on a loopback host, and
//! private-use schemes of native apps (a reverse domain name such as
//! `com.example.app:/cb`); never `javascript:`, `data:` or any other scheme,
//! never a fragment, userinfo, whitespace or backslash.
//!
//! Matching is an exact string comparison with the registered value. The one
//! exception is RFC 8252 §7.3: for a registered `http` loopback IP literal
//! (`127.0.0.1` or `[::1]`) the port may differ, while scheme, host, path and
//! query must still match exactly.

use std::fmt;

use url::{Host, Url};

/// Longest redirect URI accepted, in bytes.
pub const MAX_REDIRECT_URI_LEN: usize = 2000;

/// A registered redirection endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectUriError {
    /// Not an absolute URI, or longer than [`MAX_REDIRECT_URI_LEN`].
    Malformed,
    /// Contains whitespace, a control character or a backslash.
    ForbiddenCharacter,
    /// Has a `#fragment` (RFC 6749 §3.1.2).
    Fragment,
    /// Carries `user:password@` before the host.
    Userinfo,
    /// A scheme that is not `https`, loopback `http` or a private-use scheme.
    Scheme,
    /// `http` on a host other than a loopback address.
    InsecureHttp,
}

impl fmt::Display for RedirectUriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "must be an absolute URI",
            Self::ForbiddenCharacter => "must not contain spaces, control characters or backslashes",
            Self::Fragment => "must not contain a fragment (#)",
            Self::Userinfo => "must not contain a user name or password",
            Self::Scheme => "must use https, http on a loopback address, or a private-use scheme such as com.example.app",
            Self::InsecureHttp => "may use http only on 127.0.0.1, [::1] or localhost",
        })
    }
}

const LOOPBACK_IP_PREFIXES: [&str; 2] = ["http://127.0.0.1", "http://[::1]"];

impl RedirectUri {
    /// Validates a redirect URI for registration.
    ///
    /// # Errors
    /// The first [`RedirectUriError`] rule the value breaks.
    pub fn parse(value: &str) -> Result<Self, RedirectUriError> {
        if value.is_empty() || value.len() > MAX_REDIRECT_URI_LEN {
            return Err(RedirectUriError::Malformed);
        }
        if !value.bytes().all(|b| (0x21..=0x7e).contains(&b)) || value.contains('\\') {
            return Err(RedirectUriError::ForbiddenCharacter);
        }
        if value.contains('#') {
            return Err(RedirectUriError::Fragment);
        }
        let url = Url::parse(value).map_err(|_| RedirectUriError::Malformed)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RedirectUriError::Userinfo);
        }
        // `https:host/cb` and `https:/host/cb` parse like `https://host/cb`
        // but are not what a browser or client library would compare against:
        // web URIs must spell out the `//` authority.
        let spelled_authority = value
            .split_once(':')
            .is_some_and(|(_, rest)| rest.starts_with("//") && !rest.starts_with("///"));
        // The parser lower-cases the scheme, so `JavaScript:` is caught too.
        match url.scheme() {
            "https" | "http" if !spelled_authority => return Err(RedirectUriError::Malformed),
            "https" => {
                if url.host().is_none() {
                    return Err(RedirectUriError::Malformed);
                }
            }
            "http" => {
                let loopback = match url.host() {
                    Some(Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(Host::Ipv6(ip)) => ip.is_loopback(),
                    Some(Host::Domain(name)) => name == "localhost",
                    None => false,
                };
                if !loopback {
                    return Err(RedirectUriError::InsecureHttp);
                }
            }
            scheme if is_private_use_scheme(scheme) => {}
            _ => return Err(RedirectUriError::Scheme),
        }
        Ok(Self(value.to_owned()))
    }

    /// The URI as registered.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a presented `redirect_uri` designates this endpoint: the exact
    /// same string, or for a loopback IP literal the same string but the port.
    #[must_use]
    pub fn matches(&self, presented: &str) -> bool {
        if self.0 == presented {
            return true;
        }
        LOOPBACK_IP_PREFIXES.iter().any(|prefix| {
            match (
                strip_loopback_port(&self.0, prefix),
                strip_loopback_port(presented, prefix),
            ) {
                (Some(registered), Some(presented)) => registered == presented,
                _ => false,
            }
        })
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// For `http://<loopback-ip>[:port]<rest>`, the `<rest>`, which must be empty
/// or start with `/` or `?`; the port, when present, must be 1 to 5 digits.
fn strip_loopback_port<'a>(uri: &'a str, prefix: &str) -> Option<&'a str> {
    let after_host = uri.strip_prefix(prefix)?;
    let rest = match after_host.strip_prefix(':') {
        Some(with_port) => {
            let digits = with_port.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 5 {
                return None;
            }
            with_port.get(digits..)?
        }
        None => after_host,
    };
    (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')).then_some(rest)
}

/// A private-use URI scheme (RFC 8252 §7.1): a reverse domain name, so it
/// contains a dot; `javascript`, `data` and the like never do.
fn is_private_use_scheme(scheme: &str) -> bool {
    scheme.contains('.')
        && scheme.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REGISTERED: &str = "https://client.example.com/cb";

    fn registered() -> RedirectUri {
        RedirectUri::parse(REGISTERED).unwrap()
    }

    #[test]
    fn accepts_https_loopback_http_and_private_use_schemes() {
        for ok in [
            REGISTERED,
            "https://client.example.com/cb?x=1",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "http://localhost:3000/callback",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(RedirectUri::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_dangerous_or_ambiguous_uris() {
        let cases = [
            (
                "javascript:alert(document.domain)//",
                RedirectUriError::Scheme,
            ),
            ("JaVaScRiPt:alert(1)", RedirectUriError::Scheme),
            ("data:text/html,hi", RedirectUriError::Scheme),
            (
                "http://client.example.com/cb",
                RedirectUriError::InsecureHttp,
            ),
            (
                "https://client.example.com/cb#frag",
                RedirectUriError::Fragment,
            ),
            (
                "https://user:pw@client.example.com/cb",
                RedirectUriError::Userinfo,
            ),
            (
                "https://client.example.com\\@evil.example/cb",
                RedirectUriError::ForbiddenCharacter,
            ),
            (
                "https://client.example.com/c b",
                RedirectUriError::ForbiddenCharacter,
            ),
            ("/relative/cb", RedirectUriError::Malformed),
            ("//evil.example/cb", RedirectUriError::Malformed),
            ("https:client.example.com/cb", RedirectUriError::Malformed),
            ("https:/client.example.com/cb", RedirectUriError::Malformed),
            (
                "https:///client.example.com/cb",
                RedirectUriError::Malformed,
            ),
            ("http:127.0.0.1/cb", RedirectUriError::Malformed),
        ];
        for (uri, expected) in cases {
            assert_eq!(RedirectUri::parse(uri), Err(expected), "{uri}");
        }
    }

    #[test]
    fn matching_is_exact_for_web_uris() {
        let uri = registered();

        assert!(uri.matches(REGISTERED));
        for variant in [
            "https://client.example.com/cb/",
            "https://client.example.com/cb?x=1",
            "https://CLIENT.example.com/cb",
            "https://client.example.com:443/cb",
            "http://client.example.com/cb",
            "https://client.example.com.evil.example/cb",
            "https://client.example.com/cb/../cb",
            "https://client.example.com/%63b",
        ] {
            assert!(!uri.matches(variant), "{variant}");
        }
    }

    #[test]
    fn loopback_ip_matches_any_port_with_exact_path_and_query() {
        let uri = RedirectUri::parse("http://127.0.0.1/cb?app=1").unwrap();

        assert!(uri.matches("http://127.0.0.1:51234/cb?app=1"));
        assert!(uri.matches("http://127.0.0.1/cb?app=1"));
        assert!(!uri.matches("http://127.0.0.1:51234/cb?app=2"));
        assert!(!uri.matches("http://127.0.0.1:51234/cb"));
        assert!(!uri.matches("http://127.0.0.1:51234/cb/?app=1"));
        assert!(!uri.matches("http://127.0.0.1.evil.example/cb?app=1"));
        assert!(!uri.matches("http://127.0.0.1:80@evil.example/cb?app=1"));
        assert!(!uri.matches("http://127.0.0.1:/cb?app=1"));
    }

    #[test]
    fn localhost_by_name_matches_exactly() {
        let uri = RedirectUri::parse("http://localhost:3000/cb").unwrap();

        assert!(!uri.matches("http://localhost:3001/cb"));
    }

    proptest! {
        #[test]
        fn parse_never_panics(input in "\\PC{0,80}") {
            let _ = RedirectUri::parse(&input);
        }

        #[test]
        fn only_the_exact_string_matches_a_web_uri(suffix in "[ -~]{1,20}") {
            let uri = registered();
            let presented = format!("{REGISTERED}{suffix}");
            prop_assert!(!uri.matches(&presented));
        }

        #[test]
        fn loopback_port_never_changes_the_verdict_on_path(port in 1u16.., path in "/[a-z]{1,8}") {
            let uri = RedirectUri::parse("http://127.0.0.1/cb").unwrap();
            let presented = format!("http://127.0.0.1:{port}{path}");
            prop_assert_eq!(uri.matches(&presented), path == "/cb");
        }
    }

    /// URI-like strings: schemes (in any case), hosts, userinfo, ports,
    /// escapes, backslashes, fragments.
    fn uri_like() -> impl Strategy<Value = String> {
        (
            prop_oneof![
                Just("https"),
                Just("http"),
                Just("HTTPS"),
                Just("javascript"),
                Just("JaVaScRiPt"),
                Just("data"),
                Just("DATA"),
                Just("com.example.app"),
                Just("ftp"),
            ],
            prop_oneof![Just("://"), Just(":"), Just(":/"), Just(":///")],
            prop_oneof![
                Just("client.example.com"),
                Just("127.0.0.1"),
                Just("[::1]"),
                Just("localhost"),
                Just("user:pw@client.example.com"),
                Just("client.example.com.evil.example"),
            ],
            "(:[0-9]{0,6})?",
            "[a-zA-Z0-9./%@;?&=#\\\\ ~-]{0,24}",
        )
            .prop_map(|(scheme, sep, host, port, rest)| format!("{scheme}{sep}{host}{port}{rest}"))
    }

    proptest! {
        // What registration accepts is never dangerous or ambiguous.
        #[test]
        fn accepted_uris_are_safe(input in uri_like()) {
            if let Ok(uri) = RedirectUri::parse(&input) {
                let lower = input.to_ascii_lowercase();
                prop_assert!(!lower.starts_with("javascript:") && !lower.starts_with("data:"));
                prop_assert!(!input.contains('#') && !input.contains('\\') && !input.contains(' '));
                prop_assert!(lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("com.example.app:"));
                prop_assert!(uri.matches(&input));
            }
        }

        // A web URI matches nothing but itself; a loopback URI nothing but
        // itself with another port.
        #[test]
        fn matches_only_itself_or_a_loopback_port_change(registered in uri_like(), presented in uri_like()) {
            if let Ok(uri) = RedirectUri::parse(&registered) {
                if uri.matches(&presented) && presented != registered {
                    let strip = |s: &str| -> Option<String> {
                        let prefix = LOOPBACK_IP_PREFIXES.iter().find(|p| s.starts_with(*p))?;
                        let rest = &s[prefix.len()..];
                        let rest = rest.strip_prefix(':').map_or(rest, |r| r.trim_start_matches(|c: char| c.is_ascii_digit()));
                        Some(format!("{prefix}{rest}"))
                    };
                    prop_assert!(strip(&registered).is_some(), "{} matched {}", registered, presented);
                    prop_assert_eq!(strip(&registered), strip(&presented));
                }
            }
        }
    }
}
