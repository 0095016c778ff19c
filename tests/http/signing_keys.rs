//! Signing keys and the JWKS (`GET /.well-known/jwks.json`): the keys in
//! the database, encrypted; the JWKS from memory with cache headers; a
//! token the server's keys signed verifies with the published JWK alone;
//! rotation publishes before it signs.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature;
use serde_json::Value;

use adapters::db::DieselStore;
use adapters::jose::{self, JoseSigner, KeyEncryptionKey, KeySource};
use domain::id_token::{IdTokenClaims, JwsAlgorithm};
use domain::ids::{ClientId, UserId};
use domain::ports::{Clock, IdTokenSigner};
use domain::signing_key::Rotation;
use domain::time::Lifetime;

use crate::both_backends;
use crate::support::{TestApp, TEST_KEY_ENCRYPTION_KEY};

both_backends![
    the_jwks_publishes_one_key_per_algorithm_with_cache_headers,
    a_token_signed_with_the_stored_keys_verifies_with_the_published_jwk_alone,
    the_database_holds_the_private_keys_encrypted_only,
    another_key_encryption_key_is_a_clear_startup_error,
    a_rotated_key_is_published_before_it_signs_and_the_old_one_still_verifies,
];

fn source(app: &TestApp) -> KeySource {
    let store = DieselStore::open(&app.database_url, 2).unwrap();
    KeySource {
        repository: Arc::new(store),
        kek: KeyEncryptionKey::parse(TEST_KEY_ENCRYPTION_KEY).unwrap(),
        schedule: jose::schedule(
            Lifetime::from_seconds(90 * 86_400).unwrap(),
            Lifetime::from_seconds(3_600).unwrap(),
        ),
    }
}

/// A signer over the server's stored keys, on the server's clock.
fn signer(app: &TestApp) -> JoseSigner {
    JoseSigner::from_store(source(app), app.clock.clone()).unwrap()
}

fn claims(app: &TestApp) -> IdTokenClaims {
    let now = app.clock.now();
    IdTokenClaims {
        issuer: app.address.clone(),
        subject: UserId::from_random_bytes([3; 16]),
        audience: ClientId::parse("rp").unwrap(),
        expires_at: now.plus(Lifetime::from_seconds(3_600).unwrap()),
        issued_at: now,
        auth_time: Some(now),
        nonce: Some("n".into()),
        access_token_hash: None,
        code_hash: None,
        authentication_methods: vec!["pwd".into()],
        acr: None,
        session_id: None,
        user_claims: Vec::new(),
    }
}

async fn jwks(app: &TestApp) -> Value {
    let response = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn b64(value: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(value.as_str().unwrap()).unwrap()
}

/// Verifies `token` with the JWK of its `kid` in `jwks`, built from the
/// JWK's members only (RFC 7518 §6, RFC 8037 §2).
fn verifies_with_jwks(token: &str, jwks: &Value) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let Some(jwk) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
    else {
        return false;
    };
    assert_eq!(jwk["alg"], header["alg"]);
    let message = format!("{}.{}", parts[0], parts[1]);
    let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    match jwk["kty"].as_str().unwrap() {
        "RSA" => signature::RsaPublicKeyComponents {
            n: b64(&jwk["n"]),
            e: b64(&jwk["e"]),
        }
        .verify(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            message.as_bytes(),
            &sig,
        )
        .is_ok(),
        "EC" => {
            assert_eq!(jwk["crv"], "P-256");
            let mut point = vec![4u8];
            point.extend(b64(&jwk["x"]));
            point.extend(b64(&jwk["y"]));
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message.as_bytes(), &sig)
                .is_ok()
        }
        "OKP" => {
            assert_eq!(jwk["crv"], "Ed25519");
            signature::UnparsedPublicKey::new(&signature::ED25519, b64(&jwk["x"]))
                .verify(message.as_bytes(), &sig)
                .is_ok()
        }
        other => panic!("unexpected kty {other}"),
    }
}

async fn the_jwks_publishes_one_key_per_algorithm_with_cache_headers(app: TestApp) {
    let response = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert!(header("content-type").starts_with("application/json"));
    assert!(
        header("cache-control").contains("public"),
        "{}",
        header("cache-control")
    );
    assert!(header("cache-control").contains("max-age="));
    let etag = header("etag");
    assert!(etag.starts_with('"'), "{etag}");
    let body: Value = response.json().await.unwrap();
    let mut algs: Vec<&str> = body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            assert_eq!(k["use"], "sig");
            assert!(k.get("d").is_none(), "a private member is published");
            k["alg"].as_str().unwrap()
        })
        .collect();
    algs.sort_unstable();
    assert_eq!(algs, ["ES256", "EdDSA", "RS256"]);

    let again = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

async fn a_token_signed_with_the_stored_keys_verifies_with_the_published_jwk_alone(app: TestApp) {
    let signer = signer(&app);
    let published = jwks(&app).await;
    for alg in JwsAlgorithm::ALL {
        let token = signer.sign(alg, &claims(&app)).unwrap();
        assert!(verifies_with_jwks(&token, &published), "{alg}");
        let mut forged = token.clone();
        forged.push_str("AA");
        assert!(!verifies_with_jwks(&forged, &published), "{alg}: forged");
    }
}

async fn the_database_holds_the_private_keys_encrypted_only(app: TestApp) {
    let keys = source(&app).repository.signing_keys().unwrap();
    assert_eq!(keys.len(), 3);
    let other = KeyEncryptionKey::from_bytes([9; 32]);
    let ours = KeyEncryptionKey::parse(TEST_KEY_ENCRYPTION_KEY).unwrap();
    for key in keys {
        assert!(key.sealed_private_key.starts_with("v1."));
        let raw = URL_SAFE_NO_PAD
            .decode(&key.sealed_private_key[3..])
            .unwrap();
        // Not a PKCS#8 key as stored, and readable only under our key.
        assert!(jose::SigningKey::from_pkcs8(key.alg, &jose::Pkcs8::new(raw)).is_err());
        assert!(other.open(&key.kid, &key.sealed_private_key).is_err());
        assert!(ours.open(&key.kid, &key.sealed_private_key).is_ok());
    }
}

async fn another_key_encryption_key_is_a_clear_startup_error(app: TestApp) {
    let other = "ff".repeat(32);
    let cli = <app::cli::Cli as clap::Parser>::try_parse_from([
        "oauth2-server",
        "--database-url",
        &app.database_url,
        "--bind",
        "127.0.0.1:0",
        "--key-encryption-key",
        &other,
    ])
    .unwrap();
    let error = app::startup::Application::build(&cli.config)
        .err()
        .expect("a wrong key-encryption key must stop the start");
    let message = format!("{error:#}");
    assert!(message.contains("KEY_ENCRYPTION_KEY"), "{message}");
    assert!(!message.contains(&other), "{message}");
}

async fn a_rotated_key_is_published_before_it_signs_and_the_old_one_still_verifies(app: TestApp) {
    let signer = signer(&app);
    let before = signer.sign(JwsAlgorithm::Rs256, &claims(&app)).unwrap();
    let old_kid = kid_of(&before);
    let added = source(&app)
        .rotate(app.clock.now(), Rotation::Scheduled)
        .unwrap();
    assert_eq!(added.len(), 3);
    // Other instances pick the new key up within the reload interval.
    app.advance(Duration::from_secs(61));
    let published = jwks(&app).await;
    let rs256: Vec<&Value> = published["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["alg"] == "RS256")
        .collect();
    assert_eq!(rs256.len(), 2, "the next key is published at once");
    let during_lead = signer.sign(JwsAlgorithm::Rs256, &claims(&app)).unwrap();
    assert_eq!(
        kid_of(&during_lead),
        old_kid,
        "the old key signs during the lead"
    );

    app.advance(Duration::from_secs(
        jose::ROTATION_LEAD_SECONDS.unsigned_abs(),
    ));
    let after = signer.sign(JwsAlgorithm::Rs256, &claims(&app)).unwrap();
    assert_ne!(kid_of(&after), old_kid, "the new key signs after the lead");
    let published = jwks(&app).await;
    assert!(verifies_with_jwks(&after, &published));
    assert!(
        verifies_with_jwks(&before, &published),
        "a token signed before still verifies"
    );
    assert!(signer.verify_own(&before).is_some());
}

fn kid_of(token: &str) -> String {
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}
