//! Compact JWS (RFC 7515 §7.1) of ID token claims, written and read over
//! aws-lc-rs. Small on purpose: one header shape, three algorithms, claims in the
//! domain's types.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use domain::id_token::{ClaimValue, IdTokenClaims, JwsAlgorithm};
use domain::ids::{ClientId, UserId};
use domain::time::Timestamp;

/// The longest token `verify_own` reads: far above any ID token this server
/// signs (a few hundred bytes plus the user's claims), small enough that a
/// hostile `id_token_hint` costs nothing to refuse.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The claims the JWS carries as registered members; a user claim of the
/// same name is not written over them.
const REGISTERED: [&str; 13] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "c_hash",
    "azp",
    "amr",
    "acr",
    "sid",
];

/// The JSON payload of `claims` (Core §2, §3.1.3.6).
#[must_use]
pub fn payload(claims: &IdTokenClaims) -> Value {
    let mut map = Map::new();
    for (name, value) in &claims.user_claims {
        if REGISTERED.contains(&name.as_str()) {
            continue;
        }
        let value = match value {
            ClaimValue::Text(text) => Value::String(text.clone()),
            ClaimValue::Bool(flag) => Value::Bool(*flag),
            ClaimValue::Number(number) => Value::from(*number),
        };
        map.insert(name.clone(), value);
    }
    map.insert("iss".into(), claims.issuer.clone().into());
    map.insert("sub".into(), claims.subject.to_string().into());
    map.insert("aud".into(), claims.audience.as_str().into());
    // Core §2: azp is the party the token was issued to; with one audience
    // it equals aud, and RPs accept it.
    map.insert("azp".into(), claims.audience.as_str().into());
    map.insert("exp".into(), claims.expires_at.unix_seconds().into());
    map.insert("iat".into(), claims.issued_at.unix_seconds().into());
    if let Some(auth_time) = claims.auth_time {
        map.insert("auth_time".into(), auth_time.unix_seconds().into());
    }
    let optional = [
        ("nonce", &claims.nonce),
        ("at_hash", &claims.access_token_hash),
        ("c_hash", &claims.code_hash),
        ("sid", &claims.session_id),
        ("acr", &claims.acr),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            map.insert(name.into(), value.clone().into());
        }
    }
    if !claims.authentication_methods.is_empty() {
        map.insert("amr".into(), claims.authentication_methods.clone().into());
    }
    Value::Object(map)
}

/// The claims of a verified payload; `None` when a required claim is
/// missing or of the wrong type.
#[must_use]
pub fn claims_of(payload: &Value) -> Option<IdTokenClaims> {
    let map = payload.as_object()?;
    let text = |name: &str| -> Option<Option<String>> {
        match map.get(name) {
            None => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(_) => None,
        }
    };
    let time = |name: &str| -> Option<Option<Timestamp>> {
        match map.get(name) {
            None => Some(None),
            Some(value) => value
                .as_i64()
                .and_then(Timestamp::from_unix_seconds)
                .map(Some),
        }
    };
    let audience = match map.get("aud")? {
        Value::String(aud) => ClientId::parse(aud)?,
        Value::Array(auds) => match auds.as_slice() {
            [Value::String(aud)] => ClientId::parse(aud)?,
            _ => return None,
        },
        _ => return None,
    };
    let authentication_methods = match map.get("amr") {
        None => Vec::new(),
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()?,
        Some(_) => return None,
    };
    let mut user_claims = Vec::new();
    for (name, value) in map {
        if REGISTERED.contains(&name.as_str()) {
            continue;
        }
        let value = match value {
            Value::String(s) => ClaimValue::Text(s.clone()),
            Value::Bool(b) => ClaimValue::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(n) => ClaimValue::Number(n),
                None => continue,
            },
            _ => continue,
        };
        user_claims.push((name.clone(), value));
    }
    Some(IdTokenClaims {
        issuer: text("iss")??,
        subject: UserId::parse(&text("sub")??)?,
        audience,
        expires_at: time("exp")??,
        issued_at: time("iat")??,
        auth_time: time("auth_time")?,
        nonce: text("nonce")?,
        access_token_hash: text("at_hash")?,
        code_hash: text("c_hash")?,
        authentication_methods,
        session_id: text("sid")?,
        acr: text("acr")?,
        user_claims,
    })
}

/// A compact JWS split and decoded, its signature not yet checked.
#[derive(Debug)]
pub struct Parsed {
    /// The `alg` of the header.
    pub alg: JwsAlgorithm,
    /// The `kid` of the header.
    pub kid: String,
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: Vec<u8>,
    /// The decoded signature.
    pub signature: Vec<u8>,
    /// The decoded payload.
    pub payload: Vec<u8>,
}

/// Splits `token` strictly: at most [`MAX_TOKEN_BYTES`], exactly three
/// base64url parts without padding, a header that is a JSON object with a
/// known `alg` and a string `kid`, and no `crit` (RFC 7515 §4.1.11: we
/// understand no extension). `None` for anything else.
#[must_use]
pub fn parse(token: &str) -> Option<Parsed> {
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || header.is_empty() || payload.is_empty() || signature.is_empty() {
        return None;
    }
    let header_json: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    let header_map = header_json.as_object()?;
    if header_map.contains_key("crit") {
        return None;
    }
    let alg = JwsAlgorithm::parse(header_map.get("alg")?.as_str()?)?;
    let kid = header_map.get("kid")?.as_str()?.to_owned();
    Some(Parsed {
        alg,
        kid,
        signing_input: token.as_bytes()[..header.len() + 1 + payload.len()].to_vec(),
        signature: URL_SAFE_NO_PAD.decode(signature).ok()?,
        payload: URL_SAFE_NO_PAD.decode(payload).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> IdTokenClaims {
        IdTokenClaims {
            issuer: "https://auth.example.com".into(),
            subject: UserId::from_random_bytes([7; 16]),
            audience: ClientId::parse("client-1").unwrap(),
            expires_at: Timestamp::from_unix_seconds(2_000).unwrap(),
            issued_at: Timestamp::from_unix_seconds(1_000).unwrap(),
            auth_time: Some(Timestamp::from_unix_seconds(900).unwrap()),
            nonce: Some("n-0S6_WzA2Mj".into()),
            access_token_hash: Some("77QmUPtjPfzWtF2AnpK9RQ".into()),
            code_hash: None,
            authentication_methods: vec!["pwd".into()],
            acr: Some(domain::authn::ACR_PASSWORD.into()),
            session_id: Some("sid-1".into()),
            user_claims: vec![
                ("email".into(), ClaimValue::Text("a@example.com".into())),
                ("email_verified".into(), ClaimValue::Bool(false)),
                ("updated_at".into(), ClaimValue::Number(1_234)),
                (
                    "iss".into(),
                    ClaimValue::Text("https://evil.example".into()),
                ),
            ],
        }
    }

    #[test]
    fn claims_round_trip_and_user_claims_cannot_replace_registered_ones() {
        let value = payload(&claims());
        assert_eq!(value["iss"], "https://auth.example.com");
        assert_eq!(value["azp"], "client-1");
        assert_eq!(value["amr"], serde_json::json!(["pwd"]));
        assert!(value.get("c_hash").is_none());
        let back = claims_of(&value).unwrap();
        let mut expected = claims();
        expected.user_claims.retain(|(name, _)| name != "iss");
        expected.user_claims.sort_by(|a, b| a.0.cmp(&b.0));
        let mut got = back.clone();
        got.user_claims.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, expected);
    }

    #[test]
    fn claims_without_a_required_member_are_refused() {
        for name in ["iss", "sub", "aud", "exp", "iat"] {
            let mut value = payload(&claims());
            value.as_object_mut().unwrap().remove(name);
            assert!(claims_of(&value).is_none(), "{name}");
        }
        let mut value = payload(&claims());
        value["exp"] = "2000".into();
        assert!(claims_of(&value).is_none());
    }

    #[test]
    fn parsing_is_strict() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k"}"#);
        let ok = format!("{header}.e30.c2ln");
        assert!(parse(&ok).is_some());
        for bad in [
            format!("{header}.e30"),
            format!("{header}.e30.c2ln.c2ln"),
            format!("{header}..c2ln"),
            format!("{header}.e30.c2ln="),
            format!(
                "{}.e30.c2ln",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"k"}"#)
            ),
            format!(
                "{}.e30.c2ln",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","kid":"k"}"#)
            ),
            format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#)),
            format!(
                "{}.e30.c2ln",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k","crit":["x"]}"#)
            ),
            format!("{header}.e30.{}", "A".repeat(MAX_TOKEN_BYTES)),
        ] {
            assert!(parse(&bad).is_none(), "{bad:.80}");
        }
    }
}
