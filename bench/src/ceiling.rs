//! The ceiling: a minimal actix-web server that does the same request
//! parsing as the product (the form body through `Params::parse_form`, the
//! Basic header through `domain::client_auth`, the bearer header through
//! `parse_bearer_header`) and answers with a response of the same size, with
//! no database and no hashing. With `--sqlite PATH` it also makes one
//! indexed SQLite lookup per request (one `SELECT … WHERE digest = ?` on a
//! table of 10,000 rows, through r2d2 and Diesel, off the executor with
//! `web::block`, as the product does).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection};
use serde_json::Value;
use sha2::{Digest, Sha256};

use domain::client_auth::PresentedCredentials;
use domain::params::Params;
use domain::service::bearer::parse_bearer_header;

diesel::table! {
    lookups (digest) {
        digest -> Text,
        value -> Text,
    }
}

type SqlitePool = r2d2::Pool<ConnectionManager<SqliteConnection>>;

/// What the ceiling answers with: bodies captured from the product, so that
/// responses have the same size.
#[derive(Debug, Clone)]
pub struct Canned {
    /// The valid access token (`/api/me`, introspection).
    pub access_token: String,
    /// The client id (the lookup key of the token endpoint).
    pub client_id: String,
    /// `/api/me` body for the valid token.
    pub me: String,
    /// `/api/me` body for an invalid token.
    pub me_invalid: String,
    /// Its `WWW-Authenticate` header.
    pub me_invalid_challenge: String,
    /// The introspection body of the valid token.
    pub introspect: String,
    /// The issuer (`iss` of the authorization response).
    pub issuer: String,
    /// Documents the product serves from memory (`/.well-known/jwks.json`,
    /// discovery): path, body and the product's headers, answered as they
    /// are.
    pub documents: Vec<Document>,
}

/// A document served as captured from the product.
#[derive(Debug, Clone)]
pub struct Document {
    /// Its path.
    pub path: String,
    /// Its body.
    pub body: String,
    /// The product's headers that describe it (type, caching, CORS).
    pub headers: Vec<(String, String)>,
}

/// The product's headers a [`Document`] keeps (the security headers are
/// added by the same middleware as the product's).
pub const DOCUMENT_HEADERS: [&str; 4] = [
    "content-type",
    "cache-control",
    "etag",
    "access-control-allow-origin",
];

impl Canned {
    /// From the JSON file the bench writes.
    ///
    /// # Errors
    /// A missing member.
    pub fn from_json(value: &Value) -> anyhow::Result<Self> {
        let get = |name: &str| -> anyhow::Result<String> {
            value
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .with_context(|| format!("canned responses: no `{name}`"))
        };
        Ok(Self {
            access_token: get("access_token")?,
            client_id: get("client_id")?,
            me: get("me")?,
            me_invalid: get("me_invalid")?,
            me_invalid_challenge: get("me_invalid_challenge")?,
            introspect: get("introspect")?,
            issuer: get("issuer")?,
            documents: value
                .get("documents")
                .and_then(Value::as_array)
                .context("canned responses: no `documents`")?
                .iter()
                .map(|d| -> anyhow::Result<Document> {
                    let text = |name: &str| {
                        d.get(name)
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .with_context(|| format!("canned document: no `{name}`"))
                    };
                    let headers = d
                        .get("headers")
                        .and_then(Value::as_array)
                        .context("canned document: no `headers`")?
                        .iter()
                        .filter_map(|h| {
                            Some((
                                h.get(0)?.as_str()?.to_owned(),
                                h.get(1)?.as_str()?.to_owned(),
                            ))
                        })
                        .collect();
                    Ok(Document {
                        path: text("path")?,
                        body: text("body")?,
                        headers,
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        })
    }

    /// As JSON, for the ceiling process.
    #[must_use]
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "access_token": self.access_token,
            "client_id": self.client_id,
            "me": self.me,
            "me_invalid": self.me_invalid,
            "me_invalid_challenge": self.me_invalid_challenge,
            "introspect": self.introspect,
            "issuer": self.issuer,
            "documents": self.documents.iter().map(|d| serde_json::json!({
                "path": d.path,
                "body": d.body,
                "headers": d.headers.iter().map(|(n, v)| [n, v]).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}

struct State {
    canned: Canned,
    pool: Option<SqlitePool>,
    counter: AtomicU64,
}

impl State {
    /// A 43-character token (the length of 32 random bytes in base64url),
    /// made from a counter: no randomness, no hashing.
    fn fake_token(&self, prefix: char) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}{n:0>42}")
    }

    /// One indexed lookup, when the ceiling has a database.
    async fn lookup(&self, key: String) -> Result<Option<String>, HttpResponse> {
        let Some(pool) = self.pool.clone() else {
            return Ok(None);
        };
        web::block(move || -> anyhow::Result<Option<String>> {
            let mut conn = pool.get()?;
            Ok(lookups::table
                .find(key)
                .select(lookups::value)
                .get_result::<String>(&mut conn)
                .optional()?)
        })
        .await
        .map_err(|_| HttpResponse::ServiceUnavailable().finish())?
        .map_err(|_| HttpResponse::ServiceUnavailable().finish())
    }
}

fn digest_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn json_no_store(status: StatusCode) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .content_type("application/json");
    builder
}

fn bad_request() -> HttpResponse {
    json_no_store(StatusCode::BAD_REQUEST).body(r#"{"error":"invalid_request"}"#)
}

fn authorization(request: &HttpRequest) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// `POST /oauth/token`: parses like the product, answers a token response
/// of the same shape and size.
async fn token(state: web::Data<State>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let Ok(params) = Params::parse_form(&body) else {
        return bad_request();
    };
    let Ok(credentials) = PresentedCredentials::from_request(authorization(&request), &params)
    else {
        return bad_request();
    };
    if let Err(response) = state.lookup(credentials.client_id().to_owned()).await {
        return response;
    }
    let with_refresh = match params.get("grant_type") {
        Ok(Some("client_credentials")) => false,
        Ok(Some("refresh_token")) => params.get("refresh_token").ok().flatten().is_some(),
        Ok(Some("authorization_code")) => params.get("code").ok().flatten().is_some(),
        Ok(Some("password")) => params.get("password").ok().flatten().is_some(),
        _ => return bad_request(),
    };
    let access = state.fake_token('a');
    let body = if with_refresh {
        let refresh = state.fake_token('r');
        format!(
            r#"{{"access_token":"{access}","token_type":"Bearer","expires_in":3600,"scope":"profile","refresh_token":"{refresh}"}}"#
        )
    } else {
        format!(
            r#"{{"access_token":"{access}","token_type":"Bearer","expires_in":3600,"scope":"profile"}}"#
        )
    };
    json_no_store(StatusCode::OK).body(body)
}

/// `GET /api/me`: parses the bearer header; the token is valid when it is
/// the one the bench issued (no database) or when its digest is in the
/// table (with a database).
async fn me(state: web::Data<State>, request: HttpRequest) -> HttpResponse {
    let Ok(token) = parse_bearer_header(authorization(&request)) else {
        return bad_request();
    };
    let valid = if state.pool.is_some() {
        match state.lookup(digest_hex(token)).await {
            Ok(found) => found.is_some(),
            Err(response) => return response,
        }
    } else {
        token == state.canned.access_token
    };
    if valid {
        json_no_store(StatusCode::OK).body(state.canned.me.clone())
    } else {
        let mut builder = json_no_store(StatusCode::UNAUTHORIZED);
        if let Ok(value) = HeaderValue::from_str(&state.canned.me_invalid_challenge) {
            builder.insert_header((header::WWW_AUTHENTICATE, value));
        }
        builder.body(state.canned.me_invalid.clone())
    }
}

/// `POST /oauth/introspect`: parses like the product, answers the
/// product's body for the token.
async fn introspect(
    state: web::Data<State>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let Ok(params) = Params::parse_form(&body) else {
        return bad_request();
    };
    if PresentedCredentials::from_request(authorization(&request), &params).is_err() {
        return bad_request();
    }
    let Ok(Some(token)) = params.get("token") else {
        return bad_request();
    };
    if let Err(response) = state.lookup(digest_hex(token)).await {
        return response;
    }
    json_no_store(StatusCode::OK).body(state.canned.introspect.clone())
}

/// `POST /oauth/authorize`: parses the query and the form (CSRF token
/// present), answers 302 with a code, like the product's consent POST.
async fn authorize(
    state: web::Data<State>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let Ok(query) = Params::parse_form(request.query_string().as_bytes()) else {
        return bad_request();
    };
    let Ok(form) = Params::parse_form(&body) else {
        return bad_request();
    };
    let (Ok(Some(redirect_uri)), Ok(Some(_csrf)), Ok(Some("yes"))) = (
        query.get("redirect_uri"),
        form.get("csrf_token"),
        form.get("confirm"),
    ) else {
        return bad_request();
    };
    let cookie = request
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Err(response) = state.lookup(digest_hex(cookie)).await {
        return response;
    }
    let state_param = query.get("state").ok().flatten().unwrap_or("");
    let location = format!(
        "{redirect_uri}?code={}&state={state_param}&iss={}",
        state.fake_token('c'),
        crate::form_encode(&state.canned.issuer)
    );
    let mut response = HttpResponse::Found().finish();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A captured document, ready to answer: the body is shared, not copied.
#[derive(Clone)]
struct Served {
    body: web::Bytes,
    headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl Served {
    fn of(document: &Document) -> anyhow::Result<Self> {
        let headers = document
            .headers
            .iter()
            .map(|(name, value)| {
                Ok((
                    header::HeaderName::from_bytes(name.as_bytes())?,
                    HeaderValue::from_str(value)?,
                ))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            body: web::Bytes::from(document.body.clone()),
            headers,
        })
    }

    fn respond(&self) -> HttpResponse {
        let mut response = HttpResponse::Ok();
        for header in &self.headers {
            response.insert_header(header.clone());
        }
        response.body(self.body.clone())
    }
}

#[derive(Debug)]
struct SqliteSetup;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqliteSetup {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // The product's per-connection setup.
        conn.batch_execute(
            "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
             PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Creates the lookup table: the digest of the valid token, the client id,
/// and 10,000 other rows.
fn sqlite_pool(path: &str, canned: &Canned) -> anyhow::Result<SqlitePool> {
    let pool = r2d2::Pool::builder()
        .max_size(8)
        .test_on_check_out(false)
        .connection_customizer(Box::new(SqliteSetup))
        .build(ConnectionManager::<SqliteConnection>::new(path))?;
    let mut conn = pool.get()?;
    conn.batch_execute(
        "CREATE TABLE IF NOT EXISTS lookups (digest TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)",
    )?;
    let mut rows: Vec<(String, String)> = (0..10_000)
        .map(|i| (digest_hex(&format!("filler-{i}")), format!("row {i}")))
        .collect();
    rows.push((digest_hex(&canned.access_token), "alice".to_owned()));
    rows.push((canned.client_id.clone(), "client".to_owned()));
    conn.transaction(|conn| {
        for chunk in rows.chunks(500) {
            let values: Vec<_> = chunk
                .iter()
                .map(|(d, v)| (lookups::digest.eq(d), lookups::value.eq(v)))
                .collect();
            diesel::insert_or_ignore_into(lookups::table)
                .values(values)
                .execute(conn)?;
        }
        diesel::QueryResult::Ok(())
    })?;
    Ok(pool)
}

/// Runs the ceiling server until killed.
///
/// # Errors
/// A taken port or an unusable database file.
pub fn serve(address: SocketAddr, canned: Canned, sqlite: Option<&str>) -> anyhow::Result<()> {
    let pool = sqlite.map(|path| sqlite_pool(path, &canned)).transpose()?;
    let documents: Vec<(String, Served)> = canned
        .documents
        .iter()
        .map(|d| Ok((d.path.clone(), Served::of(d)?)))
        .collect::<anyhow::Result<_>>()?;
    let state = web::Data::new(State {
        canned,
        pool,
        counter: AtomicU64::new(0),
    });
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let mut app = App::new()
                // The product's security headers, for the same response size.
                .wrap(adapters::http::headers::security_headers())
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(domain::params::MAX_FORM_BYTES))
                .route("/oauth/token", web::post().to(token))
                .route("/oauth/introspect", web::post().to(introspect))
                .route("/oauth/authorize", web::post().to(authorize))
                .route("/api/me", web::get().to(me))
                .route("/healthz", web::get().to(HttpResponse::Ok));
            for (path, served) in &documents {
                let served = served.clone();
                app = app.route(
                    path,
                    web::get().to(move || {
                        let response = served.respond();
                        async move { response }
                    }),
                );
            }
            app
        })
        .bind(address)?
        .run()
        .await
    })?;
    Ok(())
}
