//! Reading request data: the form body into a [`Params`] bag (strict
//! decoding and the size limit live in the domain), and the `Authorization`
//! header as text.

use std::net::IpAddr;

use actix_web::http::header;
use actix_web::HttpRequest;

use domain::error::OAuthError;
use domain::params::{Params, MAX_FORM_BYTES};

/// The body of a form POST, decoded strictly.
///
/// # Errors
/// `invalid_request` for a body over the limit or unreadable, a content type
/// other than `application/x-www-form-urlencoded`, or malformed encoding.
pub fn form_params(
    request: &HttpRequest,
    body: Result<actix_web::web::Bytes, actix_web::Error>,
) -> Result<Params, OAuthError> {
    let body = body.map_err(|_| {
        OAuthError::invalid_request(format!(
            "the request body is unreadable or larger than {MAX_FORM_BYTES} bytes"
        ))
    })?;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if body.is_empty() || media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Params::parse_form(&body);
    }
    // `curl -F`, as in the seed's README, sends multipart/form-data.
    if media_type.eq_ignore_ascii_case("multipart/form-data") {
        return parse_multipart(content_type, &body);
    }
    Err(OAuthError::invalid_request(
        "the body must be application/x-www-form-urlencoded",
    ))
}

/// Decodes a `multipart/form-data` body of text fields (RFC 7578) into
/// parameters, as strictly as the URL-encoded form: UTF-8, no NUL.
fn parse_multipart(content_type: &str, body: &[u8]) -> Result<Params, OAuthError> {
    let malformed = || OAuthError::invalid_request("the multipart body is malformed");
    let boundary = content_type
        .split(';')
        .skip(1)
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"'))
        .filter(|b| !b.is_empty() && b.len() <= 70)
        .ok_or_else(malformed)?;
    let delimiter = format!("--{boundary}");
    let mut pairs = Vec::new();
    let mut sections = split_bytes(body, delimiter.as_bytes()).into_iter();
    sections.next(); // the preamble
    for section in sections {
        if section.starts_with(b"--") {
            return Ok(Params::from_pairs(pairs));
        }
        let section = section.strip_prefix(b"\r\n").ok_or_else(malformed)?;
        let split = find(section, b"\r\n\r\n").ok_or_else(malformed)?;
        let (head, value) = (&section[..split], &section[split + 4..]);
        let value = value.strip_suffix(b"\r\n").ok_or_else(malformed)?;
        let head = std::str::from_utf8(head).map_err(|_| malformed())?;
        let name = head
            .split("\r\n")
            .filter(|line| {
                line.to_ascii_lowercase()
                    .starts_with("content-disposition: form-data")
            })
            .flat_map(|line| line.split(';').skip(1))
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == "name")
            .map(|(_, v)| v.trim_matches('"').to_owned())
            .ok_or_else(malformed)?;
        let value = String::from_utf8(value.to_vec())
            .map_err(|_| OAuthError::invalid_request("the request is not valid UTF-8"))?;
        if name.contains('\0') || value.contains('\0') {
            return Err(OAuthError::invalid_request(
                "the request contains a NUL character",
            ));
        }
        pairs.push((name, value));
    }
    Err(malformed())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split_bytes<'a>(mut haystack: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    while let Some(at) = find(haystack, delimiter) {
        parts.push(&haystack[..at]);
        haystack = &haystack[at + delimiter.len()..];
    }
    parts.push(haystack);
    parts
}

/// The `Authorization` header, if present.
///
/// # Errors
/// `invalid_request` when it is repeated or not visible ASCII.
pub fn authorization(request: &HttpRequest) -> Result<Option<String>, OAuthError> {
    let mut values = request.headers().get_all(header::AUTHORIZATION);
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::invalid_request(
            "the Authorization header is repeated",
        ));
    }
    first
        .to_str()
        .map(|v| Some(v.to_owned()))
        .map_err(|_| OAuthError::invalid_request("the Authorization header is malformed"))
}

/// The client's address, for brute-force limits: the TCP peer, or, when
/// the peer is one of `trusted_proxies`, the client named in
/// `X-Forwarded-For` (see [`forwarded_client`]).
#[must_use]
pub fn client_address(request: &HttpRequest, trusted_proxies: &[IpAddr]) -> Option<String> {
    let peer = request.peer_addr()?.ip();
    if !trusted_proxies.contains(&peer) {
        return Some(address_key(peer));
    }
    // Several header lines are one comma-separated list, in order (RFC 9110
    // §5.3); a line that is not visible ASCII is one unparseable entry.
    let entries: Vec<&str> = request
        .headers()
        .get_all("x-forwarded-for")
        .flat_map(|v| {
            v.to_str()
                .map_or_else(|_| vec!["\u{0}"], |v| v.split(',').collect())
        })
        .collect();
    Some(address_key(forwarded_client(
        &entries,
        peer,
        trusted_proxies,
    )))
}

/// The client behind a chain of trusted proxies: walking `X-Forwarded-For`
/// from the right (each proxy appends the address it saw), the first entry
/// that is not a trusted proxy. Entries may carry a port (`ip:port`,
/// `[v6]:port`), as some proxies append it. An entry that does not parse
/// stops the walk at the `peer`: everything to its left was written by
/// someone we cannot vouch for, so it must never become the address.
#[must_use]
pub fn forwarded_client(entries: &[&str], peer: IpAddr, trusted_proxies: &[IpAddr]) -> IpAddr {
    for entry in entries.iter().rev() {
        match parse_forwarded_entry(entry) {
            Some(address) if trusted_proxies.contains(&address) => {}
            Some(address) => return address,
            None => return peer,
        }
    }
    peer
}

/// One `X-Forwarded-For` entry: `ip`, `ip:port`, `[v6]` or `[v6]:port`.
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(socket) = entry.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<std::net::Ipv6Addr>().ok())
        .map(IpAddr::V6)
}

/// The address as the limits count it: IPv4 as is, IPv6 by its /64 prefix
/// (one subscriber usually holds a whole /64).
fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_entries_parse_with_or_without_a_port() {
        for (entry, address) in [
            ("203.0.113.9", "203.0.113.9"),
            (" 203.0.113.9 ", "203.0.113.9"),
            ("203.0.113.9:51234", "203.0.113.9"),
            ("2001:db8::7", "2001:db8::7"),
            ("[2001:db8::7]", "2001:db8::7"),
            ("[2001:db8::7]:443", "2001:db8::7"),
        ] {
            assert_eq!(parse_forwarded_entry(entry), Some(ip(address)), "{entry}");
        }
        for garbage in [
            "",
            "unknown",
            "203.0.113.9:",
            "[203.0.113.9]",
            "[2001:db8::7",
            "1.2.3",
            "_hidden",
            "\u{0}",
        ] {
            assert_eq!(parse_forwarded_entry(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn the_walk_from_the_right_stops_at_the_first_untrusted_entry() {
        let peer = ip("10.0.0.1");
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];

        // The proxy appended ip:port; the forged entry on the left is ignored.
        assert_eq!(
            forwarded_client(&["192.0.2.66", "198.51.100.7:40000"], peer, &trusted),
            ip("198.51.100.7")
        );
        // A chain of trusted proxies is walked through.
        assert_eq!(
            forwarded_client(
                &["192.0.2.66", "[2001:db8::5]:1", "10.0.0.2:80"],
                peer,
                &trusted
            ),
            ip("2001:db8::5")
        );
        // Several header lines read as one list, in order.
        assert_eq!(
            forwarded_client(
                &["192.0.2.66", " 198.51.100.7", " 10.0.0.2"],
                peer,
                &trusted
            ),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn an_unparseable_entry_falls_back_to_the_peer_never_further_left() {
        let peer = ip("10.0.0.1");
        let trusted = [peer];

        assert_eq!(
            forwarded_client(&["192.0.2.66", "garbage"], peer, &trusted),
            peer
        );
        assert_eq!(
            forwarded_client(&["192.0.2.66", "", "10.0.0.1"], peer, &trusted),
            peer
        );
        assert_eq!(
            forwarded_client(&["192.0.2.66", "\u{0}"], peer, &trusted),
            peer
        );
        // Nothing forwarded, or only trusted proxies: the peer.
        assert_eq!(forwarded_client(&[], peer, &trusted), peer);
        assert_eq!(forwarded_client(&["10.0.0.1"], peer, &trusted), peer);
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();

        assert_eq!(address_key(a), address_key(b));
        assert_eq!(address_key(a), "2001:db8:1:2::/64");
        assert_eq!(address_key(mapped), "192.0.2.1");
    }

    #[test]
    fn multipart_text_fields_are_read_like_a_form() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\npassword\r\n--XyZ\r\nContent-Disposition: form-data; name=\"scope\"\r\n\r\nprofile email\r\n--XyZ--\r\n";

        let params = parse_multipart("multipart/form-data; boundary=XyZ", body).unwrap();

        assert_eq!(params.get("grant_type").unwrap(), Some("password"));
        assert_eq!(params.get("scope").unwrap(), Some("profile email"));
    }

    #[test]
    fn truncated_multipart_is_invalid_request() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx";

        assert!(parse_multipart("multipart/form-data; boundary=XyZ", body).is_err());
        assert!(parse_multipart("multipart/form-data", b"").is_err());
    }
}
