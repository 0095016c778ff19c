//! Domain errors as HTTP responses: JSON `{error, error_description}` with
//! `Cache-Control: no-store` at the token, revocation and introspection
//! endpoints (RFC 6749 §5.2), `invalid_client` as 401 with a Basic challenge
//! when the client tried Basic, 503 with `Retry-After` when the store is down.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use domain::error::{ErrorCode, OAuthError};

/// Seconds a client should wait when the store is unavailable.
pub const RETRY_AFTER_SECONDS: &str = "5";

/// The JSON error body (RFC 6749 §5.2).
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// `error`.
    pub error: &'a str,
    /// `error_description`.
    pub error_description: &'a str,
}

/// The status for an error code: the one mapping, used by the token,
/// revocation and introspection endpoints (RFC 6749 §5.2), the protected
/// resource (RFC 6750 §3.1) and, through [`page_status_of`], the pages.
#[must_use]
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope | ErrorCode::AccessDenied => StatusCode::FORBIDDEN,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::SlowDown => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The status for an error code shown to a person on a page: the server's
/// own conditions keep theirs (500, 503, 429), every refusal is 400. A 401
/// asks for HTTP authentication (RFC 9110 §15.5.2) and a 403 speaks to the
/// client's credentials or the user's own denial; neither fits a page that
/// tells the user a request cannot be processed.
#[must_use]
pub fn page_status_of(code: ErrorCode) -> StatusCode {
    match status_of(code) {
        status @ (StatusCode::INTERNAL_SERVER_ERROR
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::TOO_MANY_REQUESTS) => status,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// An error response of the token, revocation or introspection endpoint.
/// `invalid_client` is 401 with `WWW-Authenticate: Basic` (RFC 6749 §5.2).
#[must_use]
pub fn oauth_error_response(error: &OAuthError) -> HttpResponse {
    let mut response = json_no_store(status_of(error.code)).json(ErrorBody {
        error: error.code.as_str(),
        error_description: &error.description,
    });
    let headers = response.headers_mut();
    // RFC 6749 §5.2 (and RFC 7235 §3.1 for any 401): a Basic challenge,
    // whichever way the client tried to authenticate.
    if error.code == ErrorCode::InvalidClient {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"oauth2-server\", charset=\"UTF-8\""),
        );
    }
    match (error.code, error.retry_after) {
        (ErrorCode::SlowDown, Some(seconds)) => {
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                headers.insert(header::RETRY_AFTER, value);
            }
        }
        (ErrorCode::TemporarilyUnavailable | ErrorCode::SlowDown, _) => {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        _ => {}
    }
    if error.code == ErrorCode::ServerError {
        tracing::error!(description = %error.description, "server error");
    }
    response
}

/// A response builder with `Cache-Control: no-store` and `Pragma: no-cache`
/// (RFC 6749 §5.1).
#[must_use]
pub fn json_no_store(status: StatusCode) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    builder
}

/// 405 for a method the endpoint does not take (RFC 6749 §3.2: POST only).
pub async fn method_not_allowed(request: HttpRequest) -> HttpResponse {
    let allow = if request.path() == "/oauth/authorize" {
        "GET, POST"
    } else {
        "POST"
    };
    let mut response = oauth_error_response(&OAuthError::invalid_request(
        "this endpoint only accepts POST",
    ));
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_shown_on_a_page_is_400_whatever_its_endpoint_status() {
        assert_eq!(
            status_of(ErrorCode::InvalidClient),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(status_of(ErrorCode::AccessDenied), StatusCode::FORBIDDEN);
        for code in [
            ErrorCode::InvalidClient,
            ErrorCode::AccessDenied,
            ErrorCode::InvalidRequest,
            ErrorCode::InvalidScope,
        ] {
            assert_eq!(page_status_of(code), StatusCode::BAD_REQUEST, "{code}");
        }
        for code in [
            ErrorCode::ServerError,
            ErrorCode::TemporarilyUnavailable,
            ErrorCode::SlowDown,
        ] {
            assert_eq!(page_status_of(code), status_of(code), "{code}");
        }
    }
}
