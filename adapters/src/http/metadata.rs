//! The server's metadata, `GET /.well-known/openid-configuration`
//! (OpenID Connect Discovery 1.0 §4) and `GET
//! /.well-known/oauth-authorization-server` (RFC 8414 §3): the same
//! members ([`ProviderMetadata`]), serialised once at startup and served
//! from memory, cacheable, readable from any origin (browser relying
//! parties fetch it; it is public and carries no credentials).

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use serde_json::{Map, Value};

use domain::discovery::{MetadataValue, ProviderMetadata};
use domain::service::Policy;

use super::AppState;

/// How long a client may cache the document: the values change only when
/// the configuration does, at a restart.
pub const CACHE_CONTROL: &str = "public, max-age=3600";

/// The metadata document of `policy`, as JSON bytes.
#[must_use]
pub fn document(policy: &Policy) -> Bytes {
    let metadata = ProviderMetadata::new(&policy.issuer, &policy.capabilities);
    let mut object = Map::new();
    for (name, value) in metadata.members {
        let value = match value {
            MetadataValue::Text(text) => Value::String(text),
            MetadataValue::Names(names) => Value::from(names),
            MetadataValue::Flag(flag) => Value::Bool(flag),
        };
        object.insert(name.to_owned(), value);
    }
    Bytes::from(Value::Object(object).to_string())
}

/// Both documents.
pub async fn get(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(state.metadata.clone())
}
