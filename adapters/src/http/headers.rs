//! Response headers every page and endpoint carries: no framing, no MIME
//! sniffing, no referrer (RFC 9700 §4.16, §4.2.4; ASVS 14.4).

use actix_web::middleware::DefaultHeaders;

/// The default security headers.
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
