//! Cookies encrypted and authenticated with the server's cookie key
//! (actix's private jar, AES-256-GCM): the anonymous CSRF token, the device
//! cookie and the one-time client secret. A cookie that was altered, or
//! made without the key, reads as absent.

use std::borrow::Cow;

use actix_web::cookie::{Cookie, CookieBuilder, CookieJar, SameSite};
use actix_web::{HttpRequest, HttpResponse};

use super::AppState;

/// The clear value of the private cookie `name`, if the server made it.
#[must_use]
pub fn read(state: &AppState, request: &HttpRequest, name: &str) -> Option<String> {
    let cookie = request.cookie(name)?;
    let mut jar = CookieJar::new();
    jar.add_original(cookie);
    let cookie = jar.private(&state.cookie_key).get(name)?;
    Some(cookie.value().to_owned())
}

/// A private cookie as all of them are: `HttpOnly` (no script reads it),
/// `Secure` when the server is reached over HTTPS, and `same_site`.
pub fn build(
    state: &AppState,
    name: impl Into<Cow<'static, str>>,
    value: impl Into<Cow<'static, str>>,
    same_site: SameSite,
) -> CookieBuilder<'static> {
    Cookie::build(name, value)
        .http_only(true)
        .secure(state.https)
        .same_site(same_site)
}

/// Sets `cookie` on `response`, its value encrypted.
pub fn set(state: &AppState, response: &mut HttpResponse, cookie: Cookie<'static>) {
    let mut jar = CookieJar::new();
    jar.private_mut(&state.cookie_key).add(cookie);
    for cookie in jar.delta() {
        let _ = response.add_cookie(cookie);
    }
}
