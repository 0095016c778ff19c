//! `Scope::parse`: never panics; fails only with `invalid_scope`; what it
//! accepts prints back to a string that parses to the same scope.
#![no_main]

use domain::error::ErrorCode;
use domain::scope::Scope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    match Scope::parse(value) {
        Ok(scope) => {
            let printed = scope.to_string();
            assert_eq!(Scope::parse(&printed).ok(), Some(scope));
        }
        Err(error) => assert_eq!(error.code, ErrorCode::InvalidScope),
    }
});
