//! `GET|POST /oauth/userinfo` (OpenID Connect Core 1.0 §5.3): the claims
//! of the access token's user, for the token's scope.
//!
//! The token comes in the `Authorization` header or, for a POST, as
//! `access_token` in a form-encoded body (RFC 6750 §2.1, §2.2); never in
//! the query (RFC 9700 §4.3.2). Refusals are RFC 6750 §3 challenges.
//!
//! CORS: Core §5.3.1 says UserInfo SHOULD support CORS for browser-based
//! clients. Every answer allows any origin, without credentials: the
//! endpoint reads no cookie, only the token the caller sends, so another
//! origin's script learns nothing it did not already hold.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use domain::id_token::ClaimValue;
use domain::service::bearer::BearerError;
use domain::service::userinfo::UserInfo;

use super::bearer_challenge::challenge;
use super::error::{json_no_store, oauth_error_response};
use super::{blocking, extract, AppState, ClientRequestBody};

/// The endpoint's label in the metrics.
const LABEL: &str = "userinfo";

/// `GET`: the token in the `Authorization` header.
pub async fn get(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    with_cors(answer(&state, &request, Vec::new()).await)
}

/// `POST`: the token in the header or the form body.
pub async fn post(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: ClientRequestBody,
) -> HttpResponse {
    let response = match body_tokens(&request, body) {
        Ok(tokens) => answer(&state, &request, tokens).await,
        Err(error) => challenge(&state, LABEL, error),
    };
    with_cors(response)
}

/// The CORS preflight (Fetch: `Authorization` is never covered by a
/// wildcard, so it is named).
pub async fn preflight() -> HttpResponse {
    let mut response = HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Authorization, Content-Type",
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish();
    allow_any_origin(&mut response);
    response
}

/// Any other method: 405 with `Allow` (RFC 9110 §15.5.6).
pub async fn method_not_allowed() -> HttpResponse {
    let mut response = oauth_error_response(&domain::error::OAuthError::invalid_request(
        "the UserInfo endpoint accepts GET and POST",
    ));
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response.headers_mut().insert(
        header::ALLOW,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    response
}

async fn answer(state: &AppState, request: &HttpRequest, body_tokens: Vec<String>) -> HttpResponse {
    let authorization = match authorization(request) {
        Ok(value) => value,
        Err(error) => return challenge(state, LABEL, error),
    };
    let services = state.services.clone();
    let outcome = blocking(move || {
        let tokens: Vec<&str> = body_tokens.iter().map(String::as_str).collect();
        services.userinfo(authorization.as_deref(), &tokens)
    })
    .await;
    match outcome {
        Ok(Ok(info)) => json_no_store(StatusCode::OK).json(Value::Object(body_of(&info))),
        Ok(Err(error)) => challenge(state, LABEL, error),
        Err(error) => oauth_error_response(&error),
    }
}

/// The `Authorization` header: `Repeated` when sent twice, `Malformed`
/// when not visible ASCII.
fn authorization(request: &HttpRequest) -> Result<Option<String>, BearerError> {
    let mut values = request.headers().get_all(header::AUTHORIZATION);
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(BearerError::Repeated);
    }
    first
        .to_str()
        .map(|text| Some(text.to_owned()))
        .map_err(|_| BearerError::Malformed)
}

/// Every `access_token` of a form-encoded body (RFC 6750 §2.2 allows the
/// body only with `application/x-www-form-urlencoded`: another body
/// carries no token and is not read).
fn body_tokens(request: &HttpRequest, body: ClientRequestBody) -> Result<Vec<String>, BearerError> {
    let media_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media_type != "application/x-www-form-urlencoded" {
        return Ok(Vec::new());
    }
    let params = extract::form_params(request, body).map_err(|_| BearerError::Malformed)?;
    Ok(params
        .pairs()
        .iter()
        .filter(|(name, _)| name == "access_token")
        .map(|(_, value)| value.clone())
        .collect())
}

/// The JSON object of a UserInfo answer (Core §5.3.2): `sub`, then the
/// released claims.
fn body_of(info: &UserInfo) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("sub".to_owned(), Value::String(info.subject.to_string()));
    for (name, value) in &info.claims {
        let value = match value {
            ClaimValue::Text(text) => Value::String(text.clone()),
            ClaimValue::Bool(flag) => Value::Bool(*flag),
            ClaimValue::Number(number) => Value::from(*number),
        };
        body.insert(name.clone(), value);
    }
    body
}

fn with_cors(mut response: HttpResponse) -> HttpResponse {
    allow_any_origin(&mut response);
    // Lets a browser client read why it was refused.
    response.headers_mut().insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("WWW-Authenticate"),
    );
    response
}

/// `Access-Control-Allow-Origin: *`.
pub fn allow_any_origin(response: &mut HttpResponse) {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}
