//! Connected apps: what the user has granted, and revoking it at once.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::{login_url, render_page, see_other, FormBody, PageRequest, Visitor};
use crate::http::blocking;
use crate::http::views::{AppView, AppsPage};

/// `GET /account/apps`.
pub async fn list(page: PageRequest) -> HttpResponse {
    page.respond(async |visitor: Visitor| {
        let Some(user) = visitor.user.clone() else {
            return Ok(see_other(&login_url("/account/apps")));
        };
        let services = page.state.services.clone();
        let apps = blocking(move || services.connected_apps(&user.id)).await??;
        let apps = apps
            .into_iter()
            .filter_map(|app| {
                // Scopes and date: the remembered consent's when there is
                // one (what the user approved), else the live tokens'.
                let (scope, granted_at) = match (&app.consent, &app.grant) {
                    (Some(consent), _) => (consent.scope.clone(), consent.granted_at),
                    (None, Some(grant)) => (grant.scope.clone(), grant.granted_at),
                    (None, None) => return None,
                };
                Some(AppView {
                    client_id: app.client.id.to_string(),
                    client_name: app.client.metadata.client_name,
                    client_uri: app.client.metadata.client_uri,
                    scopes: scope.tokens().map(str::to_owned).collect(),
                    granted_at: granted_at.display(),
                    last_used_at: app.grant.map(|g| g.last_used_at.display()),
                    remembered: app.consent.is_some(),
                })
            })
            .collect();
        render_page(
            &page.state,
            StatusCode::OK,
            &AppsPage {
                layout: visitor.layout(),
                apps,
            },
        )
    })
    .await
}

/// `POST /account/apps/{client_id}/revoke`: the remembered consent and
/// every token and unused code of this user and client, at once.
pub async fn revoke(page: PageRequest, path: web::Path<String>, body: FormBody) -> HttpResponse {
    let client_id = path.into_inner();
    page.respond(async |visitor: Visitor| {
        let id = client_id.clone();
        let (user, revoked) = page
            .user_action(&visitor, body, move |services, user| {
                services.revoke_app(&user, &id)
            })
            .await?;
        tracing::info!(
            event = "app_revoked",
            client_id = %client_id,
            user_id = %user,
            tokens = revoked
        );
        page.session.flash("Access revoked.");
        Ok(see_other("/account/apps"))
    })
    .await
}
