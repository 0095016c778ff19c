//! The error pages: what can go wrong on a page, each as a readable page
//! with its status, and the 503 page when the session store fails.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use domain::error::{OAuthError, StoreError};

use super::{render_page, Visitor};
use crate::http::error::{page_status_of, RETRY_AFTER_SECONDS};
use crate::http::views::{ErrorPage, Layout, SecretText};
use crate::http::AppState;

/// What can go wrong on a page; each becomes a readable page.
#[derive(Debug)]
pub enum PageError {
    /// 400: malformed input.
    BadRequest(String),
    /// 403: failed CSRF or Origin check.
    Forbidden,
    /// 404.
    NotFound,
    /// 503: the database is unavailable.
    Unavailable,
    /// 429: too many failed attempts; retry after these seconds.
    TooManyAttempts(i64),
    /// 500: something unexpected (logged, never shown).
    Internal(String),
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => Self::Unavailable,
            StoreError::Gone => Self::BadRequest(
                "The account or application this needs was deleted in the meantime.".to_owned(),
            ),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<actix_session::SessionGetError> for PageError {
    fn from(error: actix_session::SessionGetError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<actix_session::SessionInsertError> for PageError {
    fn from(error: actix_session::SessionInsertError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<OAuthError> for PageError {
    fn from(error: OAuthError) -> Self {
        match page_status_of(error.code) {
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable,
            StatusCode::TOO_MANY_REQUESTS => Self::TooManyAttempts(error.retry_after.unwrap_or(60)),
            StatusCode::INTERNAL_SERVER_ERROR => Self::Internal(error.description.into_owned()),
            _ => Self::BadRequest(error.description.into_owned()),
        }
    }
}

impl PageError {
    /// The page's status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The error page for `error`.
#[must_use]
pub fn error_page(state: &AppState, visitor: Option<&Visitor>, error: &PageError) -> HttpResponse {
    let (heading, message) = match error {
        PageError::BadRequest(message) => ("Bad request", message.clone()),
        PageError::Forbidden => (
            "Request refused",
            "The form was stale or came from another site. Go back, reload the page and try again."
                .to_owned(),
        ),
        PageError::NotFound => ("Not found", "There is nothing here.".to_owned()),
        PageError::TooManyAttempts(seconds) => {
            let minutes = (seconds + 59) / 60;
            (
                "Too many attempts",
                format!(
                    "For your safety, this is paused for a while. Try again in {minutes} minute(s)."
                ),
            )
        }
        PageError::Unavailable => (
            "Temporarily unavailable",
            "The service cannot reach its database right now. Please try again in a moment."
                .to_owned(),
        ),
        PageError::Internal(cause) => {
            tracing::error!(cause = %cause, "page failed");
            (
                "Something went wrong",
                "The server met an unexpected condition.".to_owned(),
            )
        }
    };
    let mut response = oauth_error_page(state, visitor, error.status(), heading, &message, None);
    if let PageError::TooManyAttempts(seconds) = error {
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// An error page with an optional OAuth error code.
#[must_use]
pub fn oauth_error_page(
    state: &AppState,
    visitor: Option<&Visitor>,
    status: StatusCode,
    heading: &str,
    message: &str,
    code: Option<&str>,
) -> HttpResponse {
    let layout = visitor.map(Visitor::layout).unwrap_or(Layout {
        user: None,
        csrf_token: SecretText(String::new()),
        flash: None,
    });
    let context = ErrorPage {
        layout,
        heading: heading.to_owned(),
        message: message.to_owned(),
        code: code.map(str::to_owned),
    };
    let mut response = render_page(state, status, &context).unwrap_or_else(|_| {
        HttpResponse::build(status)
            .content_type("text/plain")
            .body(message.to_owned())
    });
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECONDS),
        );
    }
    response
}

/// Middleware for the pages scope, outside the session middleware: when
/// the session store fails (the database is unreachable or locked), the
/// session middleware returns an error; answer the readable 503 page.
///
/// # Errors
/// None of its own.
pub async fn session_failures(
    request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> actix_web::Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>> {
    let state = request
        .app_data::<actix_web::web::Data<AppState>>()
        .cloned();
    match next.call(request).await {
        Ok(response) => Ok(response),
        Err(error) => {
            tracing::warn!(event = "session_store_unavailable", error = %error, "answering 503");
            let page = match &state {
                Some(state) => error_page(state, None, &PageError::Unavailable),
                None => HttpResponse::ServiceUnavailable().finish(),
            };
            // The error becomes this response when actix turns it into one.
            Err(actix_web::error::InternalError::from_response(error.to_string(), page).into())
        }
    }
}
