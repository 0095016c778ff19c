//! `parse_basic_authorization`: never panics; fails only with
//! `invalid_client`; an accepted header names a non-empty client id.
#![no_main]

use domain::client_auth::parse_basic_authorization;
use domain::error::ErrorCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    match parse_basic_authorization(header) {
        Ok((id, _secret)) => assert!(!id.is_empty()),
        Err(error) => assert_eq!(error.code, ErrorCode::InvalidClient),
    }
});
