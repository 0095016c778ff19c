//! A deadline for the whole request body. actix-web times out a request's
//! head (`client_request_timeout`) but not its body: a client that sends a
//! `Content-Length` and then nothing would hold its connection, and its file
//! descriptor, for ever. Every request with a body is read here, up to the
//! form size limit, within `BODY_TIMEOUT`; past it the answer is 408 (RFC 9110
//! §15.5.9) and the connection is closed, since the rest of the body could
//! still arrive and be read as a next request.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{header, ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{Error, HttpMessage, HttpResponse};
use futures_core::Stream;

use domain::error::OAuthError;
use domain::params::MAX_FORM_BYTES;

use super::AppState;

/// How long a request may take to send its whole body (registered as
/// `web::Data`; 10 s when absent).
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

impl Default for BodyTimeout {
    fn default() -> Self {
        Self(Duration::from_secs(10))
    }
}

/// The body-deadline middleware (use with `middleware::from_fn`): the body
/// is read within the deadline and handed on as it was, or a larger or
/// broken body is handed on so that the handler's extractor reports it as
/// before.
///
/// # Errors
/// Whatever the inner service returns.
pub async fn body_deadline(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let headers = request.headers();
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0");
    if has_body {
        let deadline = request
            .app_data::<web::Data<BodyTimeout>>()
            .map_or_else(BodyTimeout::default, |t| *t.get_ref());
        let mut payload = request.take_payload();
        match actix_web::rt::time::timeout(deadline.0, read_up_to(&mut payload, MAX_FORM_BYTES + 1))
            .await
        {
            Ok(Ok(body)) => request.set_payload(Payload::from(body)),
            Ok(Err(error)) => request.set_payload(Payload::Stream {
                payload: Box::pin(Failed(Some(error))),
            }),
            Err(_) => {
                tracing::info!(event = "body_timeout", path = %request.path());
                let response = timed_out(&request, deadline.0);
                return Ok(request.into_response(response).map_into_right_body());
            }
        }
    }
    next.call(request)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Reads the body until its end or until it is longer than `cap`.
async fn read_up_to(payload: &mut Payload, cap: usize) -> Result<Bytes, PayloadError> {
    let mut body = BytesMut::new();
    while body.len() < cap {
        match std::future::poll_fn(|cx| Pin::new(&mut *payload).poll_next(cx)).await {
            Some(chunk) => body.extend_from_slice(&chunk?),
            None => break,
        }
    }
    Ok(body.freeze())
}

/// A body whose reading failed: yields that error once.
struct Failed(Option<PayloadError>);

impl Stream for Failed {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.take().map(Err))
    }
}

/// Whether `path` is an endpoint (JSON errors) rather than a page.
fn is_endpoint(path: &str) -> bool {
    matches!(path, "/oauth/token" | "/oauth/revoke" | "/oauth/introspect")
        || path.starts_with("/api/")
        || path.starts_with("/.well-known/")
}

/// 408: the protocol's JSON error at endpoints, a readable page elsewhere;
/// either way the connection is closed after it.
fn timed_out(request: &ServiceRequest, deadline: Duration) -> HttpResponse {
    let seconds = deadline.as_secs();
    let state = request.app_data::<web::Data<AppState>>();
    let mut response = match state {
        Some(state) if !is_endpoint(request.path()) => super::pages::error::oauth_error_page(
            state,
            None,
            StatusCode::REQUEST_TIMEOUT,
            "Request timeout",
            &format!("The form did not arrive within {seconds} seconds. Please try again."),
            None,
        ),
        _ => {
            let mut response = super::error::oauth_error_response(&OAuthError::invalid_request(
                format!("the request body did not arrive within {seconds} seconds"),
            ));
            *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
            response
        }
    };
    response
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_endpoints_answer_json_and_pages_a_page() {
        for endpoint in [
            "/oauth/token",
            "/oauth/revoke",
            "/oauth/introspect",
            "/api/me",
        ] {
            assert!(is_endpoint(endpoint), "{endpoint}");
        }
        for page in [
            "/login",
            "/signup",
            "/oauth/authorize",
            "/account/apps/x/revoke",
        ] {
            assert!(!is_endpoint(page), "{page}");
        }
    }
}
