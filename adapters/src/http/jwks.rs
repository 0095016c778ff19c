//! `GET /.well-known/jwks.json` (the `jwks_uri`, RFC 7517 §5): the public
//! keys the ID tokens are signed with, answered from the bytes serialised
//! when the keys were last loaded.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::jose::{JoseSigner, JWKS_MAX_AGE_SECONDS};

/// The JWKS; `304 Not Modified` for a matching `If-None-Match`.
pub async fn get(signer: web::Data<JoseSigner>, request: HttpRequest) -> HttpResponse {
    if signer.is_stale() {
        let signer = signer.clone().into_inner();
        // Off the executor: the reload reads the database. A failure keeps
        // the keys in memory (logged inside).
        let _ = super::blocking(move || signer.refresh_if_stale()).await;
    }
    let jwks = signer.jwks();
    let cache_control = format!("public, max-age={JWKS_MAX_AGE_SECONDS}");
    let matches = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == &*jwks.etag || tag.trim() == "*")
        });
    if matches {
        return HttpResponse::NotModified()
            .insert_header((header::CACHE_CONTROL, cache_control))
            .insert_header((header::ETAG, &*jwks.etag))
            .finish();
    }
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, cache_control))
        .insert_header((header::ETAG, &*jwks.etag))
        .body(jwks.body)
}
