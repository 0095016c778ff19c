//! A real headless Chromium, driven over WebDriver (chromedriver + the
//! `fantoccini` client), for tests of the browser pages.
//!
//! # How a page test uses it
//!
//! ```ignore
//! use crate::both_backends_in_browser;
//! use crate::support::browser::Browser;
//! use crate::support::{TestApp, PASSWORD, REDIRECT_URI};
//!
//! both_backends_in_browser![login_then_consent_gives_a_code];
//!
//! async fn login_then_consent_gives_a_code(app: TestApp, browser: &Browser) {
//!     let alice = app.user("alice");
//!     browser.goto(&app.url("/login")).await;
//!     browser.fill("input[name=username]", "alice").await;
//!     browser.fill("input[name=password]", PASSWORD).await;
//!     browser.click("button[type=submit]").await;
//!     browser.wait_for("#consent").await; // the next page is there
//!     browser.screenshot("target/screenshots/consent.png").await;
//!     browser.click("button[name=confirm]").await;
//!     // The server redirects to https://client.example.com/cb?code=…,
//!     // which does not load; the URL can still be read:
//!     let url = browser.wait_for_url_prefix(REDIRECT_URI).await;
//!     let code = url.query_pairs().find(|(k, _)| k == "code").unwrap().1;
//! }
//! ```
//!
//! - Each generated case (`sqlite`, `postgres`) gets its own server, its own
//!   database, its own chromedriver on a free port and its own fresh Chromium
//!   profile (so no cookies are shared between cases). `app` is the usual
//!   [`TestApp`](super::TestApp); `browser` is a `&Browser`.
//! - The cases are reported as *ignored*, with the reason, when chromium or
//!   chromedriver was missing when the tests were built (`cfg(browser_tests)`,
//!   see `tests/build.rs`), and the `postgres` case also without
//!   `TEST_DATABASE_URL`. `.ci/run` installs both and refuses ignored cases.
//! - Every helper panics with a readable message on failure and is bounded
//!   in time ([`STEP_TIMEOUT`]); a whole test body is bounded by
//!   [`TEST_TIMEOUT`]. Nothing waits forever.
//! - Selectors are CSS. [`Browser::fill`] clears the field first.
//!   [`Browser::click`] on a submit button returns once chromedriver has
//!   started the navigation; call [`Browser::wait_for`] (an element of the
//!   next page) or [`Browser::wait_for_url_prefix`] before reading the result.
//! - Every host but 127.0.0.1/localhost is made unresolvable
//!   (`--host-resolver-rules`), so redirects to a client's `redirect_uri`
//!   fail fast and the tests never reach the network. After such a failed
//!   navigation chromedriver still reports the URL the browser was sent to
//!   (JavaScript's `location` would say `chrome-error://chromewebdata/`):
//!   [`Browser::current_url`] is the way to read a code or token from it.
//!   [`Browser::goto`] accepts such a `net::ERR_*` failure; use
//!   [`Browser::try_goto`] to see it.
//! - For anything not wrapped here, [`Browser::client`] is the fantoccini
//!   client.

// Helpers for the page tests that are being written; not all used yet.
#![allow(dead_code)]

use std::future::Future;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, TimeoutConfiguration};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use url::Url;

/// The longest one browser step (a navigation, a click, a wait) may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest a whole browser test body may take.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(180);
/// How long chromedriver and Chromium may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The window (and screenshot) size.
pub const WINDOW: (u32, u32) = (1280, 800);

/// The chromedriver binary: `CHROMEDRIVER` at build time, else
/// `/usr/bin/chromedriver`.
pub fn chromedriver_path() -> PathBuf {
    PathBuf::from(env!("SERVER_TESTS_CHROMEDRIVER"))
}

/// The Chromium binary: `CHROMIUM` at build time, else `/usr/bin/chromium`.
pub fn chromium_path() -> PathBuf {
    PathBuf::from(env!("SERVER_TESTS_CHROMIUM"))
}

/// Runs `future`, panicking with `what` if it takes longer than `limit`.
pub async fn bounded<F: Future>(limit: Duration, what: &str, future: F) -> F::Output {
    match tokio::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => panic!("browser: {what} took longer than {limit:?}"),
    }
}

/// A headless Chromium with a chromedriver of its own. Dropping it kills
/// chromedriver and the browser (their whole process group).
pub struct Browser {
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free 127.0.0.1 port, waits until it answers
    /// and opens a Chromium session with a fresh profile.
    pub async fn start() -> Self {
        bounded(START_TIMEOUT, "starting chromedriver and chromium", async {
            let mut last_error = String::new();
            // A free port can be taken between our probe and chromedriver's
            // bind: try a few.
            for _ in 0..3 {
                match Self::try_start().await {
                    Ok(browser) => return browser,
                    Err(error) => last_error = error,
                }
            }
            panic!("browser: could not start: {last_error}")
        })
        .await
    }

    async fn try_start() -> Result<Self, String> {
        let profile = tempfile::Builder::new()
            .prefix("browser-test-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let log = profile.path().join("chromedriver.log");
        let driver = Command::new(chromedriver_path())
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that Drop can kill Chromium too.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", chromedriver_path().display()))?;
        let mut browser = Self {
            client: None,
            driver,
            _profile: profile,
        };
        let webdriver = format!("http://127.0.0.1:{port}");
        browser.wait_until_ready(&webdriver, &log).await?;

        let user_data_dir = browser._profile.path().join("profile");
        let mut capabilities = Capabilities::new();
        capabilities.insert("browserName".to_owned(), json!("chrome"));
        capabilities.insert("pageLoadStrategy".to_owned(), json!("normal"));
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium_path(),
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-quic",
                    format!("--window-size={},{}", WINDOW.0, WINDOW.1),
                    format!("--user-data-dir={}", user_data_dir.display()),
                    // A small /dev/shm (containers) crashes tabs otherwise.
                    "--disable-dev-shm-usage",
                    // Only the server under test resolves: redirects to a
                    // client's redirect_uri fail fast, no test goes online.
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&webdriver)
            .await
            .map_err(|e| format!("new session: {e}; {}", tail(&log)))?;
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(STEP_TIMEOUT),
                Some(STEP_TIMEOUT),
                Some(Duration::ZERO),
            ))
            .await
            .map_err(|e| format!("timeouts: {e}"))?;
        fit_viewport(&client).await?;
        browser.client = Some(client);
        Ok(browser)
    }

    /// Polls chromedriver's `/status` until it is ready.
    async fn wait_until_ready(&mut self, webdriver: &str, log: &Path) -> Result<(), String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| format!("http client: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.driver.try_wait() {
                return Err(format!("chromedriver exited ({status}); {}", tail(log)));
            }
            if let Ok(response) = http.get(format!("{webdriver}/status")).send().await {
                if let Ok(body) = response.json::<serde_json::Value>().await {
                    if body["value"]["ready"] == json!(true) {
                        return Ok(());
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!("chromedriver did not answer; {}", tail(log)));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The fantoccini client, for what the helpers do not cover.
    pub fn client(&self) -> &Client {
        self.client
            .as_ref()
            .expect("the session is open until close")
    }

    /// Navigates to `url`; the error, if the page did not load (for a host
    /// that does not resolve: `unknown error: net::ERR_NAME_NOT_RESOLVED`).
    pub async fn try_goto(&self, url: &str) -> Result<(), String> {
        bounded(
            STEP_TIMEOUT,
            &format!("goto {url}"),
            self.client().goto(url),
        )
        .await
        .map_err(|e| e.to_string())
    }

    /// Navigates to `url`. A network failure (`net::ERR_*`, e.g. a redirect
    /// to a client's unreachable redirect URI) is not an error: read
    /// [`Browser::current_url`]. Anything else panics.
    pub async fn goto(&self, url: &str) {
        if let Err(error) = self.try_goto(url).await {
            assert!(error.contains("net::ERR_"), "browser: goto {url}: {error}");
        }
    }

    /// The URL the browser is on, also after a navigation that failed (then
    /// the URL it was sent to, not `chrome-error://…`).
    pub async fn current_url(&self) -> Url {
        bounded(STEP_TIMEOUT, "current_url", self.client().current_url())
            .await
            .unwrap_or_else(|e| panic!("browser: current_url: {e}"))
    }

    /// Waits until the current URL starts with `prefix` (e.g. a client's
    /// redirect URI after a consent) and returns it.
    pub async fn wait_for_url_prefix(&self, prefix: &str) -> Url {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let url = self.current_url().await;
            if url.as_str().starts_with(prefix) {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "browser: still on {url} after {STEP_TIMEOUT:?}, expected {prefix}…"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until an element matches `css` and returns it.
    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        let found = bounded(
            STEP_TIMEOUT + Duration::from_secs(5),
            &format!("wait_for {css}"),
            self.client()
                .wait()
                .at_most(STEP_TIMEOUT)
                .every(Duration::from_millis(50))
                .for_element(Locator::Css(css)),
        )
        .await;
        self.element_or_panic(found, css, &format!(" within {STEP_TIMEOUT:?}"))
            .await
    }

    /// The element matching `css`, now.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        let found = bounded(
            STEP_TIMEOUT,
            &format!("find {css}"),
            self.client().find(Locator::Css(css)),
        )
        .await;
        self.element_or_panic(found, css, "").await
    }

    /// The element `found` for `css`, or a panic that names the page it
    /// was looked for on.
    async fn element_or_panic(
        &self,
        found: Result<fantoccini::elements::Element, fantoccini::error::CmdError>,
        css: &str,
        within: &str,
    ) -> fantoccini::elements::Element {
        match found {
            Ok(element) => element,
            Err(e) => panic!(
                "browser: no element {css} on {}{within}: {e}",
                self.current_url().await
            ),
        }
    }

    /// Whether an element matches `css` now.
    pub async fn exists(&self, css: &str) -> bool {
        bounded(
            STEP_TIMEOUT,
            &format!("find_all {css}"),
            self.client().find_all(Locator::Css(css)),
        )
        .await
        .is_ok_and(|elements| !elements.is_empty())
    }

    /// Clears the field matching `css` and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        bounded(STEP_TIMEOUT, &format!("fill {css}"), async {
            field.clear().await?;
            field.send_keys(text).await
        })
        .await
        .unwrap_or_else(|e| panic!("browser: fill {css}: {e}"));
    }

    /// Whether the checkbox or radio button matching `css` is checked.
    pub async fn is_checked(&self, css: &str) -> bool {
        let element = self.find(css).await;
        bounded(
            STEP_TIMEOUT,
            &format!("is_checked {css}"),
            element.is_selected(),
        )
        .await
        .unwrap_or_else(|e| panic!("browser: is_checked {css}: {e}"))
    }

    /// Checks or unchecks the checkbox matching `css` (clicks it if needed).
    pub async fn set_checked(&self, css: &str, checked: bool) {
        if self.is_checked(css).await != checked {
            self.click(css).await;
        }
    }

    /// The current `value` of the form field matching `css`.
    pub async fn value(&self, css: &str) -> String {
        let element = self.find(css).await;
        bounded(STEP_TIMEOUT, &format!("value {css}"), element.prop("value"))
            .await
            .unwrap_or_else(|e| panic!("browser: value {css}: {e}"))
            .unwrap_or_default()
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        bounded(STEP_TIMEOUT, &format!("click {css}"), element.click())
            .await
            .unwrap_or_else(|e| panic!("browser: click {css}: {e}"));
    }

    /// The rendered text of the element matching `css` (`"body"`: the page).
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        bounded(STEP_TIMEOUT, &format!("text {css}"), element.text())
            .await
            .unwrap_or_else(|e| panic!("browser: text {css}: {e}"))
    }

    /// The page's HTML source.
    pub async fn source(&self) -> String {
        bounded(STEP_TIMEOUT, "source", self.client().source())
            .await
            .unwrap_or_else(|e| panic!("browser: source: {e}"))
    }

    /// Saves a PNG of the window (1280×800) at `path`, creating its folders.
    pub async fn screenshot(&self, path: impl AsRef<Path>) {
        let path = path.as_ref();
        let png = bounded(STEP_TIMEOUT, "screenshot", self.client().screenshot())
            .await
            .unwrap_or_else(|e| panic!("browser: screenshot: {e}"));
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("browser: create {}: {e}", parent.display()));
        }
        std::fs::write(path, png)
            .unwrap_or_else(|e| panic!("browser: write {}: {e}", path.display()));
    }

    /// Runs a test body against this browser, bounded by [`TEST_TIMEOUT`].
    pub async fn run<F: Future<Output = ()>>(&self, body: F) {
        bounded(TEST_TIMEOUT, "the test body", body).await;
    }

    /// Ends the WebDriver session (Chromium quits), then drops (chromedriver
    /// is killed). Dropping without closing also kills both.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver leads its process group; Chromium and its helpers
        // are in it. No unsafe code in this workspace: use kill(1).
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Makes the viewport (what a screenshot shows) exactly [`WINDOW`]: headless
/// Chromium's `--window-size` is the outer size, and the viewport comes out
/// some 140 pixels shorter.
async fn fit_viewport(client: &Client) -> Result<(), String> {
    let inner = || async {
        let size = client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .map_err(|e| format!("viewport size: {e}"))?;
        let side = |i: usize| size[i].as_u64().unwrap_or(0);
        Ok::<_, String>((side(0), side(1)))
    };
    let (width, height) = inner().await?;
    let (outer_width, outer_height) = client
        .get_window_size()
        .await
        .map_err(|e| format!("window size: {e}"))?;
    // outer + (wanted - inner), i.e. the same browser frame around the
    // wanted viewport.
    let fitted = |outer: u64, inner: u64, wanted: u32| {
        let size = (outer + u64::from(wanted)).saturating_sub(inner);
        u32::try_from(size).unwrap_or(wanted)
    };
    client
        .set_window_size(
            fitted(outer_width, width, WINDOW.0),
            fitted(outer_height, height, WINDOW.1),
        )
        .await
        .map_err(|e| format!("set window size: {e}"))?;
    let now = inner().await?;
    if now == (u64::from(WINDOW.0), u64::from(WINDOW.1)) {
        Ok(())
    } else {
        Err(format!("the viewport is {now:?}, not {WINDOW:?}"))
    }
}

/// The last lines of chromedriver's log, for error messages.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(15);
    format!("chromedriver log:\n{}", lines[start..].join("\n"))
}

/// Runs each listed browser test, a module-level
/// `async fn NAME(app: TestApp, browser: &Browser)`, once on SQLite and once
/// on PostgreSQL, like [`both_backends!`](crate::both_backends), with a
/// started [`Browser`]. Ignored, with the reason, without
/// chromium/chromedriver at build time, and the PostgreSQL case also without
/// `TEST_DATABASE_URL`.
#[macro_export]
macro_rules! both_backends_in_browser {
    ($($name:ident),+ $(,)?) => {
        $crate::both_backends_in_browser!(settings = &[], $($name),+);
    };
    (settings = $settings:expr, $($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run(backend: $crate::support::Backend) {
                    let app = $crate::support::spawn_app_with(backend, $settings).await;
                    let browser = $crate::support::browser::Browser::start().await;
                    browser.run(super::$name(app, &browser)).await;
                    browser.close().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(
                    not(browser_tests),
                    ignore = "no chromium/chromedriver: install the Debian packages chromium and chromium-driver"
                )]
                async fn sqlite() {
                    run($crate::support::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(
                    all(not(browser_tests), pg_tests),
                    ignore = "no chromium/chromedriver: install the Debian packages chromium and chromium-driver"
                )]
                #[cfg_attr(
                    all(browser_tests, not(pg_tests)),
                    ignore = "set TEST_DATABASE_URL to run on PostgreSQL"
                )]
                #[cfg_attr(
                    all(not(browser_tests), not(pg_tests)),
                    ignore = "no chromium/chromedriver: install the Debian packages chromium and chromium-driver; set TEST_DATABASE_URL to run on PostgreSQL"
                )]
                async fn postgres() {
                    run($crate::support::Backend::Postgres).await;
                }
            }
        )+
    };
}
