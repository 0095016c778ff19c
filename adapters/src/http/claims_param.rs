//! Reads the `claims` authorization parameter (OpenID Connect Core §5.5):
//! a JSON object whose `userinfo` and `id_token` members map claim names
//! to `null` or to `{essential, value, values}`. Only the `id_token`
//! object's `acr` changes what the server does ([`AcrClaimRequest`]);
//! other requested claims are released as the granted scopes allow
//! (§5.5.1: a claim not returned is not an error).

use domain::acr_request::AcrClaimRequest;
use domain::error::OAuthError;
use serde_json::Value;

/// The longest `claims` value read (a request object of claims, not a
/// document).
pub const MAX_CLAIMS_LEN: usize = 4096;

fn invalid(description: &'static str) -> OAuthError {
    OAuthError::invalid_request(description)
}

/// Checks one member (`userinfo` or `id_token`): an object whose values
/// are `null` or objects with a boolean `essential` and a `values` array.
fn check_member(member: Option<&Value>) -> Result<(), OAuthError> {
    let Some(member) = member else {
        return Ok(());
    };
    let Some(requests) = member.as_object() else {
        return Err(invalid("claims members must be JSON objects"));
    };
    for request in requests.values() {
        match request {
            Value::Null => {}
            Value::Object(fields) => {
                if fields.get("essential").is_some_and(|e| !e.is_boolean()) {
                    return Err(invalid("claims essential must be a boolean"));
                }
                if fields.get("values").is_some_and(|v| !v.is_array()) {
                    return Err(invalid("claims values must be an array"));
                }
            }
            _ => return Err(invalid("a requested claim must be null or an object")),
        }
    }
    Ok(())
}

/// The `id_token` object's `acr` request in `claims`, if any.
///
/// # Errors
/// `invalid_request` for a value that is not a JSON object of the shape
/// Core §5.5 defines, or longer than [`MAX_CLAIMS_LEN`].
pub fn acr_claim_of(claims: &str) -> Result<Option<AcrClaimRequest>, OAuthError> {
    if claims.len() > MAX_CLAIMS_LEN {
        return Err(invalid("claims is too long"));
    }
    let value: Value =
        serde_json::from_str(claims).map_err(|_| invalid("claims is not valid JSON"))?;
    let Some(object) = value.as_object() else {
        return Err(invalid("claims must be a JSON object"));
    };
    check_member(object.get("userinfo"))?;
    check_member(object.get("id_token"))?;
    let Some(acr) = object.get("id_token").and_then(|m| m.get("acr")) else {
        return Ok(None);
    };
    let Some(fields) = acr.as_object() else {
        // `"acr": null`: asked for, voluntarily, with no class.
        return Ok(Some(AcrClaimRequest::default()));
    };
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let mut values: Vec<String> = fields.get("value").and_then(text).into_iter().collect();
    if let Some(list) = fields.get("values").and_then(Value::as_array) {
        values.extend(list.iter().filter_map(text));
    }
    Ok(Some(AcrClaimRequest {
        essential: fields.get("essential").and_then(Value::as_bool) == Some(true),
        values,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_essential_acr_with_values() {
        let claims = r#"{"id_token":{"acr":{"essential":true,"values":["a","b"]}}}"#;
        assert_eq!(
            acr_claim_of(claims).unwrap(),
            Some(AcrClaimRequest {
                essential: true,
                values: vec!["a".into(), "b".into()],
            })
        );
    }

    #[test]
    fn reads_a_single_value_and_a_null_request() {
        let one = acr_claim_of(r#"{"id_token":{"acr":{"value":"a"}}}"#).unwrap();
        assert_eq!(
            one,
            Some(AcrClaimRequest {
                essential: false,
                values: vec!["a".into()],
            })
        );
        let null = acr_claim_of(r#"{"id_token":{"acr":null}}"#).unwrap();
        assert_eq!(null, Some(AcrClaimRequest::default()));
    }

    #[test]
    fn an_acr_asked_of_userinfo_or_not_at_all_is_none() {
        assert_eq!(
            acr_claim_of(r#"{"userinfo":{"acr":{"essential":true}}}"#).unwrap(),
            None
        );
        assert_eq!(
            acr_claim_of(r#"{"id_token":{"email":null}}"#).unwrap(),
            None
        );
    }

    #[test]
    fn malformed_claims_are_invalid_request() {
        for bad in [
            "",
            "not json",
            "[]",
            r#"{"id_token":[]}"#,
            r#"{"id_token":{"acr":5}}"#,
            r#"{"id_token":{"acr":{"essential":"yes"}}}"#,
            r#"{"userinfo":{"email":{"values":"x"}}}"#,
        ] {
            let error = acr_claim_of(bad).unwrap_err();
            assert_eq!(error.code.as_str(), "invalid_request", "{bad}");
        }
        let long = format!(r#"{{"id_token":{{"x":"{}"}}}}"#, "a".repeat(MAX_CLAIMS_LEN));
        assert!(acr_claim_of(&long).is_err());
    }
}
