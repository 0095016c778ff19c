use std::sync::Arc;

use domain::id_token::{IdTokenClaims, JwsAlgorithm};
use domain::ids::{ClientId, UserId};
use domain::ports::IdTokenSigner;
use domain::testing::{t, FixedClock};

use super::*;

fn claims() -> IdTokenClaims {
    IdTokenClaims {
        issuer: "https://auth.example.com".into(),
        subject: UserId::from_random_bytes([1; 16]),
        audience: ClientId::parse("client-1").unwrap(),
        expires_at: t(4_600),
        issued_at: t(1_000),
        auth_time: Some(t(900)),
        nonce: Some("abc".into()),
        access_token_hash: None,
        code_hash: None,
        authentication_methods: vec!["pwd".into()],
        acr: None,
        session_id: None,
        user_claims: Vec::new(),
    }
}

fn signer() -> JoseSigner {
    JoseSigner::generate_in_memory(Arc::new(FixedClock::at(t(1_000)))).unwrap()
}

#[test]
fn each_algorithm_signs_a_token_it_verifies() {
    let signer = signer();
    for alg in JwsAlgorithm::ALL {
        let token = signer.sign(alg, &claims()).unwrap();
        let parsed = jws::parse(&token).unwrap();
        assert_eq!(parsed.alg, alg);
        assert_eq!(signer.verify_own(&token), Some(claims()), "{alg}");
    }
}

#[test]
fn a_changed_token_or_another_servers_token_does_not_verify() {
    let (ours, theirs) = (signer(), signer());
    for alg in JwsAlgorithm::ALL {
        let token = ours.sign(alg, &claims()).unwrap();
        assert_eq!(theirs.verify_own(&token), None, "{alg}: another key set");
        let (head, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"iss":"x"}"#);
        let forged = format!("{head}.{forged_payload}.{signature}");
        assert_eq!(ours.verify_own(&forged), None, "{alg}: payload changed");
    }
}

#[test]
fn a_header_naming_another_algorithm_for_the_kid_is_refused() {
    let signer = signer();
    let token = signer.sign(JwsAlgorithm::Rs256, &claims()).unwrap();
    let kid = jws::parse(&token).unwrap().kid;
    let (_, rest) = token.split_once('.').unwrap();
    let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#));
    assert_eq!(signer.verify_own(&format!("{header}.{rest}")), None);
}

#[test]
fn the_kid_is_the_jwk_thumbprint_and_the_jwks_has_the_public_members_only() {
    let signer = signer();
    let jwks: serde_json::Value = serde_json::from_slice(&signer.jwks().body).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    for key in keys {
        assert_eq!(key["use"], "sig");
        let members: Vec<&str> = key
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let expected: &[&str] = match key["kty"].as_str().unwrap() {
            "RSA" => &["alg", "e", "kid", "kty", "n", "use"],
            "EC" => &["alg", "crv", "kid", "kty", "use", "x", "y"],
            "OKP" => &["alg", "crv", "kid", "kty", "use", "x"],
            other => panic!("{other}"),
        };
        assert_eq!(members, expected);
    }
    // RFC 7638 §3.1's example key has this thumbprint.
    let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    let canonical = format!(r#"{{"e":"AQAB","kty":"RSA","n":"{n}"}}"#);
    assert_eq!(
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn the_key_that_signs_is_the_latest_whose_time_has_come() {
    let make = |alg| SigningKey::from_pkcs8(alg, &key::generate(alg).unwrap()).unwrap();
    let (old, new) = (make(JwsAlgorithm::EdDsa), make(JwsAlgorithm::EdDsa));
    let (old_kid, new_kid) = (old.kid().to_owned(), new.kid().to_owned());
    let set = KeySet::new(vec![
        KeyEntry {
            key: Arc::new(old),
            signs_from: t(0),
        },
        KeyEntry {
            key: Arc::new(new),
            signs_from: t(500),
        },
    ]);
    assert_eq!(
        set.signing_key(JwsAlgorithm::EdDsa, t(499)).unwrap().kid(),
        old_kid
    );
    assert_eq!(
        set.signing_key(JwsAlgorithm::EdDsa, t(500)).unwrap().kid(),
        new_kid
    );
    assert!(set.signing_key(JwsAlgorithm::Rs256, t(500)).is_none());
}

#[test]
fn debug_output_shows_no_key_material() {
    let pkcs8 = key::generate(JwsAlgorithm::Es256).unwrap();
    let key = SigningKey::from_pkcs8(JwsAlgorithm::Es256, &pkcs8).unwrap();
    let printed = format!("{pkcs8:?} {key:?} {:?}", signer().key_set());
    assert!(printed.contains("redacted"));
    assert!(!printed.contains(&URL_SAFE_NO_PAD.encode(pkcs8.der())));
    assert!(!printed.contains("\"d\""));
}
