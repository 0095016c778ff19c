//! The device cookie (OWASP, "Slow down online guessing attacks with device
//! cookies"): set at each sign-in, encrypted and authenticated with the
//! server key, naming the user who signed in and a random device id. A
//! log-in showing it for the same user name is counted under that device
//! alone (`domain::service::throttle`), so strangers' failures never lock
//! out a browser that signed in before.

use actix_web::cookie::SameSite;
use actix_web::{HttpRequest, HttpResponse};

use domain::device::KnownDevice;

use crate::http::{private_cookie, AppState};

/// The cookie's name (host-only behind TLS).
fn name(state: &AppState) -> &'static str {
    if state.https {
        "__Host-device"
    } else {
        "device"
    }
}

/// The device the request's cookie names, if the server made it.
#[must_use]
pub fn known_device(state: &AppState, request: &HttpRequest) -> Option<KnownDevice> {
    KnownDevice::parse(&private_cookie::read(state, request, name(state))?)
}

/// Sets the device cookie of `device` on `response`.
pub fn remember(state: &AppState, response: &mut HttpResponse, device: &KnownDevice) {
    let cookie = private_cookie::build(state, name(state), device.cookie_value(), SameSite::Strict)
        .path("/")
        .max_age(actix_web::cookie::time::Duration::seconds(
            KnownDevice::LIFETIME.seconds(),
        ))
        .finish();
    private_cookie::set(state, response, cookie);
}
