//! `CodeChallenge::parse`, `CodeVerifier::parse` and `verify`: never panic;
//! fail only with `invalid_request` (syntax) or `invalid_grant` (mismatch);
//! a verifier verifies against its own S256 challenge.
#![no_main]

use domain::error::ErrorCode;
use domain::pkce::{CodeChallenge, CodeVerifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // challenge \n method \n verifier
    let mut parts = text.splitn(3, '\n');
    let challenge = parts.next();
    let method = parts.next();
    let verifier = parts.next().unwrap_or("");
    if let Err(error) = CodeVerifier::parse(verifier) {
        assert_eq!(error.code, ErrorCode::InvalidRequest);
    }
    match CodeChallenge::parse(challenge, method) {
        Ok(parsed) => {
            assert_eq!(method, Some("S256"));
            if let Err(error) = parsed.verify(verifier) {
                assert!(matches!(
                    error.code,
                    ErrorCode::InvalidRequest | ErrorCode::InvalidGrant
                ));
            }
        }
        Err(error) => assert_eq!(error.code, ErrorCode::InvalidRequest),
    }
    if CodeVerifier::parse(verifier).is_ok() {
        let own = CodeChallenge::parse(Some(&CodeChallenge::s256_of(verifier)), Some("S256"));
        assert!(own.is_ok_and(|c| c.verify(verifier).is_ok()));
    }
});
