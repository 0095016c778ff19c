//! `GET/POST /oauth/logout`: the `end_session_endpoint` of RP-Initiated
//! Logout 1.0 (the rules are in `domain::service::logout`).
//!
//! - A request tied to the session (see the rules) ends it at once; any
//!   other asks first, with a POST form carrying the request, its CSRF
//!   token and `confirm=yes|no`, so that a link alone cannot log anyone
//!   out (§6). `no` keeps the session.
//! - Ending the session deletes its server-side row: every instance, and
//!   every copy of the cookie, is signed out at once.
//! - A relying party's own POST (§2 allows it) is answered with a 303 to
//!   the same request as a GET: a cross-site POST does not carry the
//!   `SameSite=Lax` session cookie, a top-level GET does.
//! - Refused requests get a readable page and no redirect (§6).

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use domain::params::Params;
use domain::service::logout::{
    AfterLogout, CurrentSession, LogoutRequest, LogoutStep, SessionMatch,
};

use super::blocking;
use super::pages::error::{oauth_error_page, PageError};
use super::pages::{render_page, see_other, FormBody, PageRequest, Visitor};
use super::views::{CarriedField, Layout, LogoutConfirmPage, SignedOutPage};

/// `GET /oauth/logout`.
pub async fn get(page: PageRequest) -> HttpResponse {
    page.respond(async |visitor: Visitor| {
        let params = Params::parse_form(page.request.query_string().as_bytes())
            .map_err(|e| PageError::BadRequest(e.description.to_string()))?;
        answer(&page, &visitor, &params, None).await
    })
    .await
}

/// `POST /oauth/logout`: the confirmation form's answer (with `confirm`),
/// or a relying party's request (without).
pub async fn post(page: PageRequest, body: FormBody) -> HttpResponse {
    page.respond(async |visitor: Visitor| {
        let bytes = body
            .as_ref()
            .map_err(|_| PageError::BadRequest("the form is too large".to_owned()))?;
        let params = Params::parse_form(bytes)
            .map_err(|e| PageError::BadRequest(e.description.to_string()))?;
        if !params.contains("confirm") {
            return Ok(see_other(&as_get(&params)));
        }
        let form = page.checked_form(body)?;
        let confirmed = match form.get("confirm").ok().flatten() {
            Some("yes") => true,
            Some("no") => false,
            _ => {
                return Err(PageError::BadRequest(
                    "Choose Sign out or Stay signed in.".to_owned(),
                ))
            }
        };
        answer(&page, &visitor, &form, Some(confirmed)).await
    })
    .await
}

/// The logout request of `params` as a GET.
fn as_get(params: &Params) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params.pairs() {
        query.append_pair(name, value);
    }
    format!("/oauth/logout?{}", query.finish())
}

async fn answer(
    page: &PageRequest,
    visitor: &Visitor,
    params: &Params,
    confirmed: Option<bool>,
) -> Result<HttpResponse, PageError> {
    let state = &page.state;
    let services = state.services.clone();
    let session = visitor.user.as_ref().map(|u| (u.id, visitor.sid.clone()));
    let params = params.clone();
    let validated = blocking(move || {
        let current = session.as_ref().map(|(user, sid)| CurrentSession {
            user: *user,
            sid: sid.as_deref(),
        });
        services.validate_logout(&params, current)
    })
    .await?;
    let request = match validated {
        Ok(request) => request,
        Err(error) => {
            tracing::info!(
                event = "logout_refused",
                error = error.code.as_str(),
                reason = %error.description
            );
            return Ok(oauth_error_page(
                state,
                Some(visitor),
                StatusCode::BAD_REQUEST,
                "This logout request cannot be processed",
                &error.description,
                Some(error.code.as_str()),
            ));
        }
    };
    let client_id = request
        .client
        .as_ref()
        .map_or_else(|| "-".to_owned(), |c| c.id.to_string());
    let user_id = visitor
        .user
        .as_ref()
        .map_or_else(|| "-".to_owned(), |u| u.id.to_string());
    match request.step(confirmed) {
        LogoutStep::AskUser => confirmation(page, visitor, &request),
        LogoutStep::EndSession => {
            tracing::info!(
                event = "logout",
                initiated_by = "client",
                client_id = %client_id,
                user_id = %user_id,
                confirmed = confirmed.is_some()
            );
            page.session.log_out();
            signed_out(page, visitor, &request, false)
        }
        LogoutStep::KeepSession => {
            if confirmed == Some(false) {
                tracing::info!(event = "logout_declined", client_id = %client_id, user_id = %user_id);
            }
            match (&request.after, visitor.user.is_some()) {
                (AfterLogout::Redirect(_), signed_in) => {
                    signed_out(page, visitor, &request, signed_in)
                }
                (AfterLogout::SignedOutPage, true) => {
                    page.session.flash("You are still signed in.");
                    Ok(see_other("/"))
                }
                (AfterLogout::SignedOutPage, false) => signed_out(page, visitor, &request, false),
            }
        }
    }
}

fn confirmation(
    page: &PageRequest,
    visitor: &Visitor,
    request: &LogoutRequest,
) -> Result<HttpResponse, PageError> {
    render_page(
        &page.state,
        StatusCode::OK,
        &LogoutConfirmPage {
            layout: visitor.layout(),
            client_name: request
                .client
                .as_ref()
                .map(|c| c.metadata.client_name.clone()),
            fields: request
                .carried
                .iter()
                .map(|(name, value)| CarriedField {
                    name,
                    value: value.clone(),
                })
                .collect(),
        },
    )
}

/// After the session ended (or there was none, or the user kept it): to
/// the client's page, or the server's own page. The redirect is automatic
/// only for a client the operator trusts or a request tied to the session
/// by its `id_token_hint`; otherwise anyone who registers a client could
/// use this endpoint as an open redirector (RFC 9700 §4.11.2), so the page
/// offers the link instead, naming its host.
fn signed_out(
    page: &PageRequest,
    visitor: &Visitor,
    request: &LogoutRequest,
    still_signed_in: bool,
) -> Result<HttpResponse, PageError> {
    let automatic =
        request.session == SessionMatch::Tied || request.client.as_ref().is_some_and(|c| c.trusted);
    let (continue_to, continue_host) = match &request.after {
        AfterLogout::Redirect(location) if automatic => return Ok(see_other(location)),
        AfterLogout::Redirect(location) => (
            Some(location.clone()),
            url::Url::parse(location)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned)),
        ),
        AfterLogout::SignedOutPage => (None, None),
    };
    let layout = if still_signed_in {
        visitor.layout()
    } else {
        Layout {
            user: None,
            ..visitor.layout()
        }
    };
    render_page(
        &page.state,
        StatusCode::OK,
        &SignedOutPage {
            layout,
            still_signed_in,
            continue_to,
            continue_host,
        },
    )
}
