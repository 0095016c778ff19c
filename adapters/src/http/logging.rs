//! The request log: a `request` span around every request, carrying its
//! request id, so that every event logged while answering it (security
//! events such as `refresh_reuse_detected` or `client_auth_failed`, login
//! events, errors) names the request; one access line per request (method,
//! path, status, latency, request id); and the request counters of
//! `/metrics`.
//!
//! The span is opened by `tracing-actix-web`'s [`TracingLogger`] with
//! [`RequestSpan`] instead of its default builder, which records the target
//! with its query string (codes, tokens, `state`), the user agent and the
//! client address: here the span holds the request id only, and the access
//! line the path without the query (SECURITY.md LG-01).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage as _};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder, TracingLogger};

/// Opens the `request` span of each request (see the module's comment).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        match request.extensions().get::<RequestId>() {
            Some(id) => tracing::info_span!("request", request_id = %id),
            None => tracing::info_span!("request"),
        }
    }

    /// Nothing to add: [`request_log`] writes the access line, inside the
    /// span, with the status and the latency.
    fn on_request_end<B: MessageBody>(_: Span, _: &Result<ServiceResponse<B>, Error>) {}
}

/// The span middleware; wrap it around [`request_log`] (outermost, so that
/// every other middleware runs inside the span).
#[must_use]
pub fn request_span() -> TracingLogger<RequestSpan> {
    TracingLogger::<RequestSpan>::new()
}

/// The request id [`request_span`] gave this request, as logged.
fn request_id(request: &ServiceRequest) -> String {
    request
        .extensions()
        .get::<RequestId>()
        .map_or_else(|| "-".to_owned(), ToString::to_string)
}

/// The access-line and metrics middleware (use with `middleware::from_fn`,
/// inside [`request_span`]).
///
/// # Errors
/// Whatever the inner service returns.
pub async fn request_log(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = request_id(&request);
    let method = request.method().to_string();
    let path = request.path().to_owned();
    let response = match next.call(request).await {
        Ok(response) => response,
        Err(error) => {
            // Turned into a response by actix later (e.g. the 503 page of a
            // failed session store); log it here all the same.
            let status = error.as_response_error().status_code().as_u16();
            tracing::info!(
                request_id = %id,
                method = %method,
                path = %path,
                status,
                latency_ms = started.elapsed().as_secs_f64() * 1000.0,
                "request"
            );
            return Err(error);
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    if let Some(state) = response
        .request()
        .app_data::<actix_web::web::Data<super::AppState>>()
    {
        state
            .metrics
            .request(&route, &method, response.status().as_u16(), elapsed);
    }
    tracing::info!(
        request_id = %id,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_ms = elapsed * 1000.0,
        "request"
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use actix_web::{middleware, test, web, App, HttpResponse};
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Captured {
        type Writer = Self;
        fn make_writer(&'w self) -> Self {
            self.clone()
        }
    }

    async fn replayed() -> HttpResponse {
        tracing::warn!(event = "refresh_reuse_detected", "replay detected");
        HttpResponse::BadRequest().finish()
    }

    /// The log of `uris` requested in turn, at the most verbose level.
    async fn log_of(uris: &[&str]) -> String {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(captured.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(
            App::new()
                .wrap(middleware::from_fn(request_log))
                .wrap(request_span())
                .route("/oauth/token", web::post().to(replayed)),
        )
        .await;
        for uri in uris {
            let request = test::TestRequest::post()
                .uri(uri)
                .insert_header(("Authorization", "Basic c2VjcmV0LWNsaWVudDpzM2NyM3Q="))
                .insert_header(("Cookie", "session=s3ssion-cookie"))
                .to_request();
            test::call_service(&app, request).await;
        }
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    /// The `request_id=…` of the span a log line was written in.
    fn span_id(line: &str) -> &str {
        let start = line.find("request{request_id=").unwrap() + "request{request_id=".len();
        let end = start + line[start..].find('}').unwrap();
        &line[start..end]
    }

    #[actix_web::test]
    async fn every_event_of_a_request_carries_its_request_id() {
        let log = log_of(&["/oauth/token", "/oauth/token"]).await;

        let events: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("refresh_reuse_detected"))
            .collect();
        let access: Vec<&str> = log.lines().filter(|l| l.contains("status=400")).collect();
        assert_eq!((events.len(), access.len()), (2, 2), "{log}");
        for (event, access) in events.iter().zip(&access) {
            let id = span_id(event);
            assert_eq!(id.len(), 36, "a UUID: {event}");
            assert_eq!(span_id(access), id, "{log}");
            assert!(
                access.contains(&format!("request_id={id} method=POST")),
                "{access}"
            );
        }
        assert_ne!(span_id(events[0]), span_id(events[1]), "{log}");
    }

    #[actix_web::test]
    async fn the_request_log_has_no_query_string_and_no_headers() {
        let log = log_of(&["/oauth/token?code=c0de-in-query&access_token=t0ken-in-query"]).await;

        assert!(log.contains("path=/oauth/token status=400"), "{log}");
        for secret in [
            "c0de-in-query",
            "t0ken-in-query",
            "c2VjcmV0LWNsaWVudDpzM2NyM3Q",
            "s3ssion-cookie",
        ] {
            assert!(!log.contains(secret), "{secret} in\n{log}");
        }
    }
}
