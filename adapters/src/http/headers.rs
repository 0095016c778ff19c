//! Response headers every page and endpoint carries: no framing, no MIME
//! sniffing, no referrer (RFC 9700 §4.16, §4.2.4; ASVS 14.4), and HSTS when
//! the issuer is https.

use actix_web::middleware::DefaultHeaders;

/// `Strict-Transport-Security` for an https issuer (RFC 6797): one year, the
/// age HSTS preload lists and Mozilla's guidelines ask for, so a browser that
/// met the server once never sends a session cookie or form over plain HTTP
/// for a year; `includeSubDomains` because the issuer owns its host name
/// (cookies are `__Host-`) and a sibling over http could still set cookies
/// for it. No `preload`: joining the browsers' built-in list is the
/// operator's decision, hard to undo, and covers the whole registrable domain.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The default security headers (no HSTS: for an http issuer).
#[must_use]
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add((
            "Content-Security-Policy",
            "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add(("Referrer-Policy", "no-referrer"))
}

/// The security headers for a server whose issuer is `https` (with HSTS) or
/// not (without: HSTS over plain HTTP is ignored by browsers, RFC 6797 §8.1,
/// and would only mislead).
#[must_use]
pub fn security_headers_for(https: bool) -> DefaultHeaders {
    if https {
        security_headers().add(("Strict-Transport-Security", HSTS))
    } else {
        security_headers()
    }
}
