//! One signing key, parsed once: the private half ready to sign (aws-lc-rs), the
//! public half as a JWK (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2) and as the
//! bytes aws-lc-rs verifies with, and the `kid`: the key's JWK thumbprint
//! (RFC 7638), so that every instance loading the same key names it alike.

use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use domain::id_token::JwsAlgorithm;

use super::JoseError;

/// The size of the RSA keys the server generates.
pub const RSA_BITS: usize = 2048;

/// A private key in PKCS#8 DER; its `Debug` shows only its length.
pub struct Pkcs8(Vec<u8>);

impl Pkcs8 {
    /// Wraps PKCS#8 DER bytes.
    #[must_use]
    pub fn new(der: Vec<u8>) -> Self {
        Self(der)
    }

    /// The DER bytes (to encrypt before storing; never to log).
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Pkcs8 {
    fn drop(&mut self) {
        // Best effort: the buffer is not left behind in freed memory.
        for byte in &mut self.0 {
            *byte = 0;
        }
        std::hint::black_box(&self.0);
    }
}

impl std::fmt::Debug for Pkcs8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pkcs8(<{} bytes redacted>)", self.0.len())
    }
}

/// Generates a new private key for `alg`: RSA-2048 (the `rsa` crate, as
/// before aws-lc-rs: keys stay PKCS#8 either way), P-256 or Ed25519
/// (aws-lc-rs).
///
/// # Errors
/// The random source or the encoding failed.
pub fn generate(alg: JwsAlgorithm) -> Result<Pkcs8, JoseError> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    match alg {
        JwsAlgorithm::Rs256 => {
            use rsa::pkcs8::EncodePrivateKey as _;
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, RSA_BITS)
                .map_err(|_| JoseError::Generate)?;
            let der = key.to_pkcs8_der().map_err(|_| JoseError::Generate)?;
            Ok(Pkcs8(der.as_bytes().to_vec()))
        }
        JwsAlgorithm::Es256 => {
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map(|doc| Pkcs8(doc.as_ref().to_vec()))
                .map_err(|_| JoseError::Generate)
        }
        JwsAlgorithm::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng)
            .map(|doc| Pkcs8(doc.as_ref().to_vec()))
            .map_err(|_| JoseError::Generate),
    }
}

enum Private {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A key parsed once, ready to sign and verify.
pub struct SigningKey {
    kid: String,
    alg: JwsAlgorithm,
    private: Private,
    /// What aws-lc-rs verifies with: RSAPublicKey DER, the uncompressed P-256
    /// point, or the 32 Ed25519 bytes.
    public: Vec<u8>,
    /// The public JWK, serialised.
    jwk: serde_json::Value,
    /// `base64url({"alg":…,"typ":"JWT","kid":…})`, the first part of every
    /// JWS it signs.
    encoded_header: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SigningKey {
    /// Parses a PKCS#8 private key for `alg`.
    ///
    /// # Errors
    /// [`JoseError::BadKey`] when the bytes are not a key of that algorithm
    /// (or an RSA key under 2048 bits).
    pub fn from_pkcs8(alg: JwsAlgorithm, pkcs8: &Pkcs8) -> Result<Self, JoseError> {
        let der = pkcs8.der();
        let (private, public, jwk_fields): (Private, Vec<u8>, Vec<(&str, String)>) = match alg {
            JwsAlgorithm::Rs256 => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(|_| JoseError::BadKey)?;
                if pair.public_key().modulus_len() * 8 < RSA_BITS {
                    return Err(JoseError::BadKey);
                }
                let components: signature::RsaPublicKeyComponents<Vec<u8>> =
                    pair.public_key().into();
                let public = pair.public_key().as_ref().to_vec();
                // RFC 7638 §3.2: the required members in lexicographic order.
                let fields = vec![
                    ("e", b64(&components.e)),
                    ("kty", "RSA".to_owned()),
                    ("n", b64(&components.n)),
                ];
                (Private::Rsa(pair), public, fields)
            }
            JwsAlgorithm::Es256 => {
                let pair =
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                        .map_err(|_| JoseError::BadKey)?;
                let public = pair.public_key().as_ref().to_vec();
                // 0x04 || x || y (SEC 1 §2.3.3).
                if public.len() != 65 || public.first() != Some(&4) {
                    return Err(JoseError::BadKey);
                }
                let fields = vec![
                    ("crv", "P-256".to_owned()),
                    ("kty", "EC".to_owned()),
                    ("x", b64(&public[1..33])),
                    ("y", b64(&public[33..65])),
                ];
                (Private::Ec(pair), public, fields)
            }
            JwsAlgorithm::EdDsa => {
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                    .map_err(|_| JoseError::BadKey)?;
                let public = pair.public_key().as_ref().to_vec();
                let fields = vec![
                    ("crv", "Ed25519".to_owned()),
                    ("kty", "OKP".to_owned()),
                    ("x", b64(&public)),
                ];
                (Private::Ed(pair), public, fields)
            }
        };
        let mut thumbprint_input = serde_json::Map::new();
        for (name, value) in &jwk_fields {
            thumbprint_input.insert((*name).to_owned(), serde_json::Value::String(value.clone()));
        }
        // serde_json's map keeps keys sorted and writes no whitespace: the
        // canonical form RFC 7638 §3 hashes.
        let canonical = serde_json::to_vec(&thumbprint_input).map_err(|_| JoseError::BadKey)?;
        let kid = b64(&Sha256::digest(&canonical));
        let mut jwk = thumbprint_input;
        jwk.insert("kid".to_owned(), kid.clone().into());
        jwk.insert("use".to_owned(), "sig".into());
        jwk.insert("alg".to_owned(), alg.as_str().into());
        let header = serde_json::json!({ "alg": alg.as_str(), "typ": "JWT", "kid": kid });
        let encoded_header = b64(&serde_json::to_vec(&header).map_err(|_| JoseError::BadKey)?);
        Ok(Self {
            kid,
            alg,
            private,
            public,
            jwk: serde_json::Value::Object(jwk),
            encoded_header,
        })
    }

    /// The key id (its RFC 7638 thumbprint).
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm it signs with.
    #[must_use]
    pub fn alg(&self) -> JwsAlgorithm {
        self.alg
    }

    /// The public JWK (`kty`, `kid`, `use`, `alg` and the key's members).
    #[must_use]
    pub fn jwk(&self) -> &serde_json::Value {
        &self.jwk
    }

    /// The encoded JWS header naming this key.
    #[must_use]
    pub fn encoded_header(&self) -> &str {
        &self.encoded_header
    }

    /// The signature of `message`.
    ///
    /// # Errors
    /// [`JoseError::Sign`] if aws-lc-rs fails (its random source).
    pub fn sign(
        &self,
        rng: &aws_lc_rs::rand::SystemRandom,
        message: &[u8],
    ) -> Result<Vec<u8>, JoseError> {
        match &self.private {
            Private::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_key().modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, rng, message, &mut signature)
                    .map_err(|_| JoseError::Sign)?;
                Ok(signature)
            }
            Private::Ec(pair) => pair
                .sign(rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| JoseError::Sign),
            Private::Ed(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }

    /// Whether `signature` is this key's signature of `message`.
    #[must_use]
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let algorithm: &dyn signature::VerificationAlgorithm = match self.alg {
            JwsAlgorithm::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            JwsAlgorithm::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
            JwsAlgorithm::EdDsa => &signature::ED25519,
        };
        signature::UnparsedPublicKey::new(algorithm, &self.public)
            .verify(message, signature)
            .is_ok()
    }
}
