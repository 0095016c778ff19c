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
/// the peer is one of `trusted_proxies`, the last address in
/// `X-Forwarded-For` that is not itself a trusted proxy (the one the nearest
/// trusted proxy saw; anything further left could be forged by the client).
#[must_use]
pub fn client_address(request: &HttpRequest, trusted_proxies: &[IpAddr]) -> Option<String> {
    let peer = request.peer_addr()?.ip();
    if !trusted_proxies.contains(&peer) {
        return Some(address_key(peer));
    }
    let forwarded: Vec<IpAddr> = request
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    let client = forwarded
        .iter()
        .rev()
        .find(|a| !trusted_proxies.contains(a))
        .copied()
        .unwrap_or(peer);
    Some(address_key(client))
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
