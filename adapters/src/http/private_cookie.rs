//! Cookies encrypted and authenticated with the server's cookie key
//! (actix's private jar, AES-256-GCM): the anonymous CSRF token, the device
//! cookie and the one-time client secret. A cookie that was altered, or
//! made without the key, reads as absent.

use actix_web::cookie::{Cookie, CookieJar};
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

/// Sets `cookie` on `response`, its value encrypted.
pub fn set(state: &AppState, response: &mut HttpResponse, cookie: Cookie<'static>) {
    let mut jar = CookieJar::new();
    jar.private_mut(&state.cookie_key).add(cookie);
    for cookie in jar.delta() {
        let _ = response.add_cookie(cookie);
    }
}
