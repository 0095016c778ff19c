//! The browser pages: accounts, clients, connected apps. What they share:
//! the visitor (session user and CSRF token), form reading, redirects and
//! rendering. The session state is in [`crate::http::typed_session`], the
//! CSRF defence in [`crate::http::csrf`], the error pages in [`error`].

pub mod accounts;
pub mod apps;
pub mod clients;
pub mod device;
pub mod error;

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};

use domain::ids::UserId;
use domain::params::Params;
use domain::user::User;

use super::typed_session::TypedSession;
use super::views::{render, Layout, SecretText, UserView, View};
use super::{csrf, AppState};
use error::{error_page, PageError};

/// Who is looking at a page.
pub struct Visitor {
    /// The logged-in user.
    pub user: Option<User>,
    /// When the logged-in user entered their password (`auth_time`).
    pub auth_time: Option<domain::time::Timestamp>,
    /// The session's `sid` for relying parties.
    pub sid: Option<String>,
    /// How the logged-in user signed in (`amr` values; empty when no one
    /// is signed in).
    pub amr: Vec<String>,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// A one-time message taken from the session.
    pub flash: Option<String>,
    /// A CSRF token made for an anonymous visitor, to set as a cookie.
    pub new_anonymous_token: Option<String>,
}

impl Visitor {
    /// The layout context for this visitor.
    #[must_use]
    pub fn layout(&self) -> Layout {
        Layout {
            user: self.user.as_ref().map(|u| UserView {
                username: u.username.to_string(),
            }),
            csrf_token: SecretText(self.csrf_token.clone()),
            flash: self.flash.clone(),
        }
    }
}

/// A form POST's body as actix read it (an error when too large).
pub type FormBody = Result<web::Bytes, actix_web::Error>;

/// What every page handler reads: the state, the session and the request.
pub struct PageRequest {
    /// The application state.
    pub state: web::Data<AppState>,
    /// The browser session.
    pub session: TypedSession,
    /// The request.
    pub request: HttpRequest,
}

impl FromRequest for PageRequest {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let Some(state) = request.app_data::<web::Data<AppState>>().cloned() else {
            return ready(Err(actix_web::error::ErrorInternalServerError(
                "the application state is not registered",
            )));
        };
        let session = match TypedSession::from_request(request, payload).into_inner() {
            Ok(session) => session,
            Err(error) => return ready(Err(error)),
        };
        ready(Ok(Self {
            state,
            session,
            request: request.clone(),
        }))
    }
}

impl PageRequest {
    /// Runs a page handler body for the visitor and turns its error into an
    /// error page.
    pub async fn respond<F>(&self, body: F) -> HttpResponse
    where
        F: AsyncFnOnce(Visitor) -> Result<HttpResponse, PageError>,
    {
        let state = &self.state;
        match visitor(state, &self.session, &self.request).await {
            Ok(visitor) => {
                let layout_visitor = Visitor {
                    user: visitor.user.clone(),
                    auth_time: visitor.auth_time,
                    sid: visitor.sid.clone(),
                    amr: visitor.amr.clone(),
                    csrf_token: visitor.csrf_token.clone(),
                    flash: None,
                    new_anonymous_token: None,
                };
                let new_token = visitor.new_anonymous_token.clone();
                let mut response = match body(visitor).await {
                    Ok(response) => response,
                    Err(error) => error_page(state, Some(&layout_visitor), &error),
                };
                if let Some(token) = new_token {
                    csrf::set_anonymous_cookie(state, &mut response, &token);
                }
                response
            }
            Err(error) => error_page(state, None, &error),
        }
    }

    /// Reads a form POST strictly and checks its CSRF token and origin: the
    /// token must equal the session's (constant-time), and a cross-site
    /// `Origin` or `Sec-Fetch-Site` is refused whatever the token says.
    ///
    /// # Errors
    /// `BadRequest` for a malformed body, `Forbidden` for a failed check.
    pub fn checked_form(&self, body: FormBody) -> Result<Params, PageError> {
        let (state, request) = (&self.state, &self.request);
        let body = body.map_err(|_| PageError::BadRequest("the form is too large".to_owned()))?;
        let params = Params::parse_form(&body)
            .map_err(|e| PageError::BadRequest(e.description.to_string()))?;
        if !csrf::same_origin(state, request) {
            return Err(PageError::Forbidden);
        }
        let expected =
            csrf::expected_token(state, &self.session, request)?.ok_or(PageError::Forbidden)?;
        let presented = params
            .get("csrf_token")
            .ok()
            .flatten()
            .ok_or(PageError::Forbidden)?;
        if csrf::token_matches(&expected, presented) {
            Ok(params)
        } else {
            Err(PageError::Forbidden)
        }
    }

    /// A logged-in user's form action: the form is checked (CSRF token and
    /// origin), then `use_case` runs off the executor with the user's id.
    ///
    /// # Errors
    /// `Forbidden` without a user or a valid form; the use case's store error.
    pub async fn user_action<T, F>(
        &self,
        visitor: &Visitor,
        body: FormBody,
        use_case: F,
    ) -> Result<(UserId, T), PageError>
    where
        F: FnOnce(&domain::service::Services, UserId) -> Result<T, domain::error::StoreError>
            + Send
            + 'static,
        T: Send + 'static,
    {
        let user = visitor.user.as_ref().ok_or(PageError::Forbidden)?.id;
        self.checked_form(body)?;
        let services = self.state.services.clone();
        let outcome = super::blocking(move || use_case(&services, user)).await??;
        Ok((user, outcome))
    }
}

/// Loads the visitor: the session user (dropped if deleted since) and the
/// CSRF token (made on first visit).
///
/// # Errors
/// Session or store failures.
pub async fn visitor(
    state: &AppState,
    session: &TypedSession,
    request: &HttpRequest,
) -> Result<Visitor, PageError> {
    let csrf = csrf::page_token(state, session, request)?;
    let flash = session.take_flash();
    let user = match session.user_id()? {
        Some(id) => {
            let services = state.services.clone();
            let found = super::blocking(move || services.find_user(&id)).await??;
            if found.is_none() {
                session.forget_user();
            }
            found
        }
        None => None,
    };
    let (auth_time, sid, amr) = match &user {
        Some(_) => (session.auth_time()?, session.sid()?, session.amr()?),
        None => (None, None, Vec::new()),
    };
    Ok(Visitor {
        user,
        auth_time,
        sid,
        amr,
        new_anonymous_token: csrf.is_new.then(|| csrf.token.clone()),
        csrf_token: csrf.token,
        flash,
    })
}

/// Starts an authenticated session for `user`, who has just signed in
/// with `methods` (`amr` values, [`domain::authn::methods_of`]): a new
/// session key (no fixation), a new CSRF token, a new `sid` and
/// `auth_time` now.
///
/// # Errors
/// Session failures.
pub fn log_in(
    state: &AppState,
    session: &TypedSession,
    user: &User,
    methods: &[String],
) -> Result<(), PageError> {
    session.log_in(
        &user.id,
        &csrf::new_token(),
        state.services.now(),
        &csrf::new_token(),
        methods,
    )?;
    Ok(())
}

/// [`log_in`] after a correct password (the log-in and sign-up forms).
///
/// # Errors
/// Session failures.
pub fn log_in_with_password(
    state: &AppState,
    session: &TypedSession,
    user: &User,
) -> Result<(), PageError> {
    log_in(
        state,
        session,
        user,
        &domain::authn::methods_of(&[domain::authn::amr::PASSWORD]),
    )
}

/// A form field as typed ("" when absent or repeated).
#[must_use]
pub fn form_field(params: &Params, name: &str) -> String {
    params.get(name).ok().flatten().unwrap_or("").to_owned()
}

/// A `next` target that stays on this site: a path starting with one `/`.
#[must_use]
pub fn local_path(next: Option<&str>) -> Option<&str> {
    next.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n.starts_with("/\\")
            && n.len() <= 2048
            && n.bytes().all(|b| (0x21..=0x7e).contains(&b))
    })
}

/// The status of a form page: 400 when it shows problems to fix.
#[must_use]
pub fn form_status<T>(errors: &[T]) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    }
}

/// A 303 redirect (after a POST, or to the login page).
#[must_use]
pub fn see_other(location: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther().finish();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Renders `view` with `no-store` (pages carry per-user data and tokens).
///
/// # Errors
/// A template failure.
pub fn render_page<V: View>(
    state: &AppState,
    status: StatusCode,
    view: &V,
) -> Result<HttpResponse, PageError> {
    let html = render(&state.templates, view).map_err(|e| PageError::Internal(format!("{e:?}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html))
}

/// The login URL that comes back to `path_and_query`.
#[must_use]
pub fn login_url(path_and_query: &str) -> String {
    format!("/login?next={}", encode(path_and_query))
}

/// Percent-encodes a query component.
#[must_use]
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_a_local_path() {
        assert_eq!(local_path(Some("/clients/x?y=1")), Some("/clients/x?y=1"));
        for bad in [
            "https://evil.example/cb",
            "//evil.example/x",
            "/\\evil.example",
            "evil",
            "/a b",
        ] {
            assert_eq!(local_path(Some(bad)), None, "{bad}");
        }
    }
}
