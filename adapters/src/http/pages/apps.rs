//! Connected apps: what the user has granted, and revoking it at once.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{login_url, page, respond, see_other, user_action, Visitor};
use crate::http::typed_session::TypedSession;
use crate::http::views::{AppView, AppsPage};
use crate::http::{blocking, AppState};

/// `GET /account/apps`.
pub async fn list(
    state: web::Data<AppState>,
    session: TypedSession,
    request: HttpRequest,
) -> HttpResponse {
    respond(&state, &session, &request, async |visitor: Visitor| {
        let Some(user) = visitor.user.clone() else {
            return Ok(see_other(&login_url("/account/apps")));
        };
        let services = state.services.clone();
        let apps = blocking(move || services.connected_apps(&user.id)).await??;
        let apps = apps
            .into_iter()
            .map(|app| AppView {
                client_id: app.client.id.to_string(),
                client_name: app.client.metadata.client_name,
                client_uri: app.client.metadata.client_uri,
                scopes: app.grant.scope.tokens().map(str::to_owned).collect(),
                granted_at: app.grant.granted_at.display(),
                last_used_at: app.grant.last_used_at.display(),
            })
            .collect();
        page(
            &state,
            StatusCode::OK,
            &AppsPage {
                layout: visitor.layout(),
                apps,
            },
        )
    })
    .await
}

/// `POST /account/apps/{client_id}/revoke`: every token of this user and
/// client, at once.
pub async fn revoke(
    state: web::Data<AppState>,
    session: TypedSession,
    request: HttpRequest,
    path: web::Path<String>,
    body: Result<web::Bytes, actix_web::Error>,
) -> HttpResponse {
    let client_id = path.into_inner();
    respond(&state, &session, &request, async |visitor: Visitor| {
        let id = client_id.clone();
        let (user, revoked) = user_action(&state, &request, &session, &visitor, body, move |services, user| {
            services.revoke_app(&user, &id)
        })
        .await?;
        tracing::info!(event = "app_revoked", client_id = %client_id, user_id = %user, tokens = revoked);
        session.flash("Access revoked.");
        Ok(see_other("/account/apps"))
    })
    .await
}
