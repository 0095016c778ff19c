//! `Params::parse_form`: never panics; fails only with `invalid_request`;
//! what it accepts has no NUL and answers `get` for every name.
#![no_main]

use domain::error::ErrorCode;
use domain::params::Params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Params::parse_form(data) {
        Ok(params) => {
            for (name, value) in params.pairs() {
                assert!(!name.contains('\0') && !value.contains('\0'));
                let _ = params.get(name);
            }
        }
        Err(error) => assert_eq!(error.code, ErrorCode::InvalidRequest),
    }
});
