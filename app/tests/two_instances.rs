//! Two server processes on one PostgreSQL database behave as one server:
//! sessions, codes, revocations, rotations and logouts made through one are
//! seen by the other at once, and migrations started by both at once run
//! exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{client_create, command, free_port, serve_with, user_create, Server};

use std::sync::Arc;

use diesel::{Connection, PgConnection, RunQueryDsl};
use test_support::{Backend, TestDatabase};

const SESSION_KEY: &str = "two-instances-share-this-session-key-of-more-than-sixty-four-bytes!!";
const PASSWORD: &str = "correct horse battery";
const REDIRECT_URI: &str = "https://client.example.com/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Instance {
    _server: Server,
    base: String,
}

/// An instance on `database_url`, sharing the session key and issuer of
/// the others, as behind one load balancer.
fn start(database_url: &str) -> Instance {
    let port = free_port();
    let (server, _) = serve_with(
        database_url,
        port,
        &[
            "--bcrypt-cost",
            "4",
            "--session-key",
            SESSION_KEY,
            "--issuer",
            "http://auth.test",
        ],
    );
    Instance {
        _server: server,
        base: format!("http://127.0.0.1:{port}"),
    }
}

fn cli(database_url: &str, args: &[&str]) -> serde_json::Value {
    let output = command()
        .arg("--database-url")
        .arg(database_url)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null)
}

fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).unwrap() + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

fn params_of(location: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(pg_tests), ignore = "set TEST_DATABASE_URL to run on PostgreSQL")]
async fn two_instances_on_one_postgres_database_are_one_server() {
    // Empty: both instances migrate it at start.
    let db = TestDatabase::empty(Backend::Postgres);
    // Both start (and migrate) at once.
    let (url_a, url_b) = (db.url().to_owned(), db.url().to_owned());
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(move || start(&url_a));
        let b = s.spawn(move || start(&url_b));
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut conn = PgConnection::establish(db.url()).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        distinct_versions: i64,
    }
    let count: Count = diesel::sql_query(
        "SELECT count(*) AS n, count(DISTINCT version) AS distinct_versions FROM __diesel_schema_migrations",
    )
    .get_result(&mut conn)
    .unwrap();
    let folders = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../migrations/postgres"
    ))
    .unwrap()
    .count();
    assert_eq!(
        count.n,
        i64::try_from(folders).unwrap(),
        "each migration recorded once"
    );
    assert_eq!(count.n, count.distinct_versions);

    let cheap_bcrypt = ["--bcrypt-cost", "4"];
    cli(
        db.url(),
        &[&cheap_bcrypt[..], &user_create("alice", PASSWORD)].concat(),
    );
    let mut create_client = client_create(
        "alice",
        "Both",
        "--grant-type authorization_code --grant-type refresh_token --response-type code \
         --scope profile --auth-method client_secret_basic",
    );
    create_client.extend(["--redirect-uri", REDIRECT_URI]);
    let client = cli(db.url(), &create_client);
    let (client_id, secret) = (
        client["client_id"].as_str().unwrap().to_owned(),
        client["client_secret"].as_str().unwrap().to_owned(),
    );

    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    let get = |url: String| {
        let browser = browser.clone();
        async move { browser.get(url).send().await.unwrap() }
    };
    let post_form = |url: String, form: &[(&str, &str)]| {
        let request = browser.post(url).form(form);
        async move { request.send().await.unwrap() }
    };
    let logged_in_at = |base: &str| {
        let home = get(format!("{base}/"));
        async move {
            let page = home.await.text().await.unwrap();
            page.contains("id=\"logged-in-as\"")
        }
    };

    // Logged in through A, logged in on B.
    let login_page = get(format!("{}/login", a.base)).await.text().await.unwrap();
    let logged_in = post_form(
        format!("{}/login", a.base),
        &[
            ("csrf_token", csrf_of(&login_page).as_str()),
            ("username", "alice"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(logged_in.status().as_u16(), 303);
    assert!(
        logged_in_at(&b.base).await,
        "the session made on A is valid on B"
    );

    // A code issued by A is redeemed on B.
    let query = format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=profile&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
    );
    let consent = get(format!("{}{query}", a.base))
        .await
        .text()
        .await
        .unwrap();
    let approved = post_form(
        format!("{}{query}", a.base),
        &[
            ("csrf_token", csrf_of(&consent).as_str()),
            ("confirm", "yes"),
        ],
    )
    .await;
    let code = params_of(approved.headers()["location"].to_str().unwrap())["code"].clone();
    let api = reqwest::Client::new();
    let token = |base: String, form: Vec<(&'static str, String)>| {
        let (api, id, secret) = (api.clone(), client_id.clone(), secret.clone());
        async move {
            let response = api
                .post(format!("{base}/oauth/token"))
                .basic_auth(id, Some(secret))
                .form(&form)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let (status, tokens) = token(
        b.base.clone(),
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", REDIRECT_URI.to_owned()),
            ("code_verifier", VERIFIER.to_owned()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let me = |base: &str, token: &str| {
        let request = api.get(format!("{base}/api/me")).bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(me(&a.base, &access).await, 200);

    // A refresh rotated on A is refused on B.
    let refresh_form = vec![
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", refresh),
    ];
    let (status, rotated) = token(a.base.clone(), refresh_form.clone()).await;
    assert_eq!(status, 200, "{rotated}");
    let (status, refused) = token(b.base.clone(), refresh_form).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // A token revoked on A is refused on B at once.
    let new_access = rotated["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me(&b.base, &new_access).await, 200);
    let revoked = api
        .post(format!("{}/oauth/revoke", a.base))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("token", new_access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    assert_eq!(me(&b.base, &new_access).await, 401);

    // Logout on A ends the session on B.
    let home_a = get(format!("{}/", a.base)).await.text().await.unwrap();
    let out = post_form(
        format!("{}/logout", a.base),
        &[("csrf_token", csrf_of(&home_a).as_str())],
    )
    .await;
    assert_eq!(out.status().as_u16(), 303);
    assert!(
        !logged_in_at(&b.base).await,
        "the session ended on A is over on B"
    );
}
