//! Cookies encrypted and authenticated with the server's cookie key
//! (actix's private jar, AES-256-GCM): the anonymous CSRF token, the device
//! cookie and the one-time client secret. A cookie that was altered, or
//! made without the key, reads as absent.

use std::borrow::Cow;

use actix_web::cookie::{Cookie, CookieBuilder, CookieJar, Key, SameSite};
use actix_web::{HttpRequest, HttpResponse};

use super::AppState;

/// The clear value of the private cookie `name`, if the server made it.
#[must_use]
pub fn read(state: &AppState, request: &HttpRequest, name: &str) -> Option<String> {
    open(
        &[&state.cookie_key, &state.legacy_cookie_key],
        request.cookie(name)?,
    )
}

/// The clear value of `cookie` if one of `keys` made it (the current key
/// first, then the pre-HKDF one, read-only).
fn open(keys: &[&Key], cookie: Cookie<'static>) -> Option<String> {
    let name = cookie.name().to_owned();
    let mut jar = CookieJar::new();
    jar.add_original(cookie);
    keys.iter()
        .find_map(|key| jar.private(key).get(&name))
        .map(|cookie| cookie.value().to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::SessionSettings;

    /// What `set` sends for `value` under `key`.
    fn sealed(key: &Key, value: &str) -> Cookie<'static> {
        let mut jar = CookieJar::new();
        jar.private_mut(key)
            .add(Cookie::new("device", value.to_owned()));
        jar.delta().next().cloned().expect("one cookie")
    }

    #[test]
    fn a_cookie_made_with_the_pre_hkdf_key_still_opens_and_a_forged_one_does_not() {
        let settings = SessionSettings::new(&[7u8; 64], false).expect("a 64-byte key");
        let (current, legacy) = (settings.secret_cookie_key(), settings.legacy_cookie_key());
        let keys = [&current, &legacy];

        assert_eq!(open(&keys, sealed(&current, "v1")).as_deref(), Some("v1"));
        assert_eq!(open(&keys, sealed(&legacy, "v0")).as_deref(), Some("v0"));
        assert_eq!(open(&[&current], sealed(&legacy, "v0")), None);
        let stranger = Key::from(&[9u8; 64]);
        assert_eq!(open(&keys, sealed(&stranger, "forged")), None);
        assert_eq!(open(&keys, Cookie::new("device", "plain")), None);
    }

    /// The legacy key is the derivation every cookie before issue 12 used.
    #[test]
    fn the_legacy_key_is_sha512_of_the_label_a_zero_and_the_session_key() {
        use sha2::{Digest, Sha512};
        let settings = SessionSettings::new(&[7u8; 64], false).expect("a 64-byte key");
        let old = Sha512::new()
            .chain_update(b"oauth2-server client secret cookie\0")
            .chain_update(Key::from(&[7u8; 64]).master())
            .finalize();
        assert_eq!(
            settings.legacy_cookie_key().master(),
            Key::from(old.as_slice()).master()
        );
    }
}
