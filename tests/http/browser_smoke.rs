//! The browser test machinery itself, on what the server serves today: a page
//! read in headless Chromium, a screenshot, and the URL of a redirect to an
//! unreachable client (where an authorization code arrives).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use crate::both_backends_in_browser;
use crate::support::browser::Browser;
use crate::support::browser::WINDOW;
use crate::support::TestApp;
use crate::support::{location_params, REDIRECT_URI};

/// Width and height of a PNG, from its IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    (be(16), be(20))
}

/// A one-page site on 127.0.0.1: `GET /` is a form whose submit (a POST)
/// answers `303 See Other` to `location`, as a consent page does.
fn redirecting_form(location: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut length = 0;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let response = if request_line.starts_with("POST") {
                format!("HTTP/1.1 303 See Other\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            } else {
                let page = "<!doctype html><title>Consent</title>\
                    <form method=post action=/approve><button id=allow name=confirm value=yes>Allow</button></form>";
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                )
            };
            let _ = stream.write_all(response.as_bytes());
        }
    });
    address
}

both_backends_in_browser![
    metadata_page_shows_the_issuer,
    a_redirect_to_an_unreachable_host_can_still_be_read
];

async fn metadata_page_shows_the_issuer(app: TestApp, browser: &Browser) {
    browser
        .goto(&app.url("/.well-known/oauth-authorization-server"))
        .await;

    let text = browser.text("body").await;
    assert!(
        text.contains(&format!("\"issuer\":\"{}\"", app.address))
            || text.contains(&format!("\"issuer\": \"{}\"", app.address)),
        "the page shows the issuer {}: {text}",
        app.address
    );

    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("nested/shots/metadata.png");
    browser.screenshot(&path).await;
    let png = std::fs::read(&path).unwrap();
    assert_eq!(png_size(&png), WINDOW, "the screenshot is the window size");
}

async fn a_redirect_to_an_unreachable_host_can_still_be_read(app: TestApp, browser: &Browser) {
    // Sent there directly: the load fails, the URL is still known.
    let error = browser
        .try_goto("https://client.example.com/cb?code=abc&state=xyz")
        .await
        .unwrap_err();
    assert!(error.contains("net::ERR_NAME_NOT_RESOLVED"), "{error}");
    let url = browser.current_url().await;
    assert_eq!(
        url.as_str(),
        "https://client.example.com/cb?code=abc&state=xyz"
    );
    let params = location_params(url.as_str());
    assert_eq!(params["code"], "abc");
    assert_eq!(params["state"], "xyz");

    // The server under test is still reachable afterwards.
    browser
        .goto(&app.url("/.well-known/oauth-authorization-server"))
        .await;
    assert!(browser.text("body").await.contains(&app.address));

    // A fragment (the implicit flow's tokens) survives too.
    browser
        .goto(&format!("{REDIRECT_URI}#access_token=t0k&state=xyz"))
        .await;
    let params = location_params(browser.current_url().await.as_str());
    assert_eq!(params["access_token"], "t0k");

    // As after a consent: a form POST answered by 303 to the client.
    let site = redirecting_form(format!("{REDIRECT_URI}?code=from-form&state=s1"));
    browser.goto(&site).await;
    browser.wait_for("#allow").await;
    browser.click("#allow").await;
    let url = browser.wait_for_url_prefix(REDIRECT_URI).await;
    let params = location_params(url.as_str());
    assert_eq!(params["code"], "from-form");
    assert_eq!(params["state"], "s1");
}
