//! The load benchmark: `cargo run --release -p bench -- [OPTIONS]`.
//!
//! It builds and starts the release server on a fresh database (a SQLite
//! file in a temporary directory, or a new PostgreSQL database made from
//! `--database-url`/`DATABASE_URL`), creates its user and client with the
//! admin CLI, starts the two ceiling servers (this binary's `ceiling` mode:
//! no database, and one indexed SQLite lookup per request), then drives
//! every scenario with `wrk` and the Lua scripts of `bench/lua`, at each
//! connection count, `--runs` times, interleaving server and ceilings. It
//! prints one Markdown table (medians) with the ratios to the ceilings and
//! to the bcrypt bound, and writes it to `target/bench/`.

mod ceiling;
mod client;

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use clap::{Parser, Subcommand};
use serde_json::Value;
use sha2::{Digest, Sha256};

const USERNAME: &str = "bench";
const PASSWORD: &str = "correct-horse-battery-0123";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const CODE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const INVALID_TOKEN: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

#[derive(Debug, Parser)]
#[command(name = "bench", about = "Load benchmark of oauth2-server (wrk)")]
struct Cli {
    #[command(subcommand)]
    mode: Option<Mode>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Serve the ceiling (started by the benchmark itself).
    #[command(hide = true)]
    Ceiling {
        #[arg(long)]
        port: u16,
        /// JSON file of the canned responses.
        #[arg(long)]
        canned: PathBuf,
        /// Make one indexed lookup per request in this SQLite file.
        #[arg(long)]
        sqlite: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// A PostgreSQL server URL (a fresh database is created on it and
    /// dropped afterwards); default: a SQLite file in a temporary directory.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Measurements per scenario and connection count (the median is shown).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Connection counts.
    #[arg(long, value_delimiter = ',', default_value = "16,64")]
    connections: Vec<u32>,
    /// bcrypt cost of the benchmark user's password.
    #[arg(long, default_value_t = 10)]
    bcrypt_cost: u32,
    /// Only these scenarios (comma-separated): client_credentials, password,
    /// refresh_token, me_valid, me_invalid, introspect, code_flow,
    /// openid_code_flow, jwks, discovery.
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Do not run `cargo build --release -p oauth2-server` first.
    #[arg(long)]
    no_build: bool,
    /// Extra argument for the server (repeat), e.g. `--server-arg=--pool-size=4`.
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
    /// The ID token signing algorithm of the benchmark client
    /// (`openid_code_flow`): RS256 (the default of every client), ES256 or
    /// EdDSA.
    #[arg(long, default_value = "RS256")]
    id_token_alg: String,
    /// The server's log filter (its default is `info`: one line per request).
    #[arg(long, default_value = "info")]
    log: String,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.mode {
        Some(Mode::Ceiling {
            port,
            canned,
            sqlite,
        }) => run_ceiling(port, &canned, sqlite.as_deref()),
        None => run(&cli.run),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_ceiling(port: u16, canned: &Path, sqlite: Option<&str>) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(canned)?;
    let canned = ceiling::Canned::from_json(&serde_json::from_str(&text)?)?;
    ceiling::serve(SocketAddr::from(([127, 0, 0, 1], port)), canned, sqlite)
}

/// One scenario: its Lua script, and what its figures are compared with.
struct Scenario {
    name: &'static str,
    /// What it runs against, interleaved within each run: the server
    /// first, then its bounds (not the ceilings for the password grant: its
    /// bound is bcrypt).
    targets: &'static [Target],
    /// Its rate is flows per second (a flow is two requests).
    flows: bool,
}

const WITH_CEILINGS: &[Target] = &[Target::Server, Target::NoDb, Target::Lookup];

const SCENARIOS: [Scenario; 10] = [
    Scenario {
        name: "client_credentials",
        targets: WITH_CEILINGS,
        flows: false,
    },
    Scenario {
        name: "password",
        targets: &[Target::Server],
        flows: false,
    },
    Scenario {
        name: "refresh_token",
        targets: WITH_CEILINGS,
        flows: false,
    },
    Scenario {
        name: "me_valid",
        targets: WITH_CEILINGS,
        flows: false,
    },
    Scenario {
        name: "me_invalid",
        targets: WITH_CEILINGS,
        flows: false,
    },
    Scenario {
        name: "introspect",
        targets: WITH_CEILINGS,
        flows: false,
    },
    Scenario {
        name: "code_flow",
        targets: WITH_CEILINGS,
        flows: true,
    },
    // Issue 13: the code flow with `openid` (one signed ID token per flow),
    // against the same flow without it on the same server, in turn.
    Scenario {
        name: "openid_code_flow",
        targets: &[Target::Server, Target::PlainFlow],
        flows: true,
    },
    // Issue 13: documents served from memory, against the no-database
    // ceiling serving the same bytes.
    Scenario {
        name: "jwks",
        targets: &[Target::Server, Target::NoDb],
        flows: false,
    },
    Scenario {
        name: "discovery",
        targets: &[Target::Server, Target::NoDb],
        flows: false,
    },
];

/// Kills and reaps its child process when dropped.
struct Process {
    child: Child,
    name: &'static str,
}

impl Process {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Removes the temporary directory when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn check_wrk() -> anyhow::Result<()> {
    match Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => Ok(()),
        Err(_) => bail!(
            "wrk is not installed: this benchmark drives the server with wrk \
             (Debian: apt-get install -y wrk)"
        ),
    }
}

fn server_binary(root: &Path, build: bool) -> anyhow::Result<PathBuf> {
    let binary = root.join("target/release/oauth2-server");
    if build {
        eprintln!("building the release server: cargo build --release -p oauth2-server");
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
            .args(["build", "--release", "-p", "oauth2-server"])
            .current_dir(root)
            .status()
            .context("cannot run cargo")?;
        if !status.success() {
            bail!("cargo build --release -p oauth2-server failed");
        }
    }
    if !binary.exists() {
        bail!(
            "{} is missing: run `cargo build --release -p oauth2-server`",
            binary.display()
        );
    }
    Ok(binary)
}

/// bcrypt verifications per second at `cost`, one thread per core, for
/// about `seconds`.
fn bcrypt_bound(cost: u32, seconds: u64) -> anyhow::Result<(f64, usize)> {
    let hash = bcrypt::hash(PASSWORD, cost)?;
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let hash = hash.clone();
            std::thread::spawn(move || {
                let mut count = 0u64;
                while Instant::now() < deadline {
                    if bcrypt::verify(PASSWORD, &hash).unwrap_or(false) {
                        count += 1;
                    }
                }
                count
            })
        })
        .collect();
    let mut total = 0;
    for handle in handles {
        total += handle.join().unwrap_or(0);
    }
    Ok((total as f64 / started.elapsed().as_secs_f64(), threads))
}

fn admin(server: &Path, database_url: &str, cost: u32, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(server)
        .env_remove("CONFIG")
        .args(["--database-url", database_url, "--log", "warn"])
        .args(["--bcrypt-cost", &cost.to_string()])
        .args(args)
        .output()
        .context("cannot run the admin CLI")?;
    if !output.status.success() {
        bail!(
            "oauth2-server {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn wait_healthy(address: SocketAddr, process: &mut Process) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = process.child.try_wait() {
            bail!("{} exited at start: {status}", process.name);
        }
        if client::request(address, "GET", "/healthz", &[], "").is_ok_and(|r| r.status == 200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("{} did not answer /healthz within 30 s", process.name)
}

/// What a run needs to know about the server under test.
struct Setup {
    address: SocketAddr,
    basic: String,
    access_token: String,
    authorize_path: String,
    openid_authorize_path: String,
    sessions: Vec<(String, String)>,
}

/// Percent-encodes everything but RFC 3986's unreserved characters (for
/// form bodies and query strings, here and in the ceiling).
fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn json_field(body: &str, name: &str) -> anyhow::Result<String> {
    let value: Value = serde_json::from_str(body).with_context(|| format!("not JSON: {body}"))?;
    value
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("no `{name}` in {body}"))
}

impl Setup {
    const FORM: (&'static str, &'static str) =
        ("Content-Type", "application/x-www-form-urlencoded");

    /// Logs in once and reads the consent page: a session cookie and its
    /// CSRF token.
    fn session(&self) -> anyhow::Result<(String, String)> {
        let mut jar = Vec::new();
        let form = client::request(self.address, "GET", "/login", &[], "")?;
        form.merge_cookies(&mut jar);
        let csrf = client::csrf_token(&form.body).context("no CSRF token at /login")?;
        let body = format!(
            "username={USERNAME}&password={}&csrf_token={}",
            form_encode(PASSWORD),
            form_encode(&csrf)
        );
        let login = client::request(
            self.address,
            "POST",
            "/login",
            &[("Cookie", &jar.join("; ")), Self::FORM],
            &body,
        )?;
        if login.status != 303 {
            bail!("login answered {}: {}", login.status, login.body);
        }
        login.merge_cookies(&mut jar);
        let consent = client::request(
            self.address,
            "GET",
            &self.authorize_path,
            &[("Cookie", &jar.join("; "))],
            "",
        )?;
        if consent.status != 200 {
            bail!("the consent page answered {}", consent.status);
        }
        consent.merge_cookies(&mut jar);
        let csrf =
            client::csrf_token(&consent.body).context("no CSRF token on the consent page")?;
        Ok((jar.join("; "), csrf))
    }

    /// One authorization-code flow: returns the refresh token.
    fn code_flow(&self, session: &(String, String)) -> anyhow::Result<String> {
        let body = self.flow(session, &self.authorize_path)?;
        json_field(&body, "refresh_token")
    }

    /// One authorization-code flow through `authorize_path`: returns the
    /// token response.
    fn flow(&self, session: &(String, String), authorize_path: &str) -> anyhow::Result<String> {
        let approve = client::request(
            self.address,
            "POST",
            authorize_path,
            &[("Cookie", &session.0), Self::FORM],
            &format!("confirm=yes&csrf_token={}", form_encode(&session.1)),
        )?;
        let location = approve
            .header("location")
            .with_context(|| format!("authorize answered {}", approve.status))?;
        let code = location
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("code="))
            .context("no code in the redirect")?;
        let token = client::request(
            self.address,
            "POST",
            "/oauth/token",
            &[("Authorization", &self.basic), Self::FORM],
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={CODE_VERIFIER}",
                form_encode(REDIRECT_URI)
            ),
        )?;
        if token.status != 200 {
            bail!("code exchange answered {}: {}", token.status, token.body);
        }
        Ok(token.body)
    }
}

/// The figures of one wrk run.
#[derive(Debug, Clone, Default)]
struct Sample {
    /// Requests per second (flows per second for the code flow).
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    requests: u64,
    /// Server CPU, percent of one core, over the run.
    cpu: f64,
    /// Server peak RSS during the run, KiB.
    rss_kib: u64,
    bytes_per_response: f64,
}

fn proc_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

struct Runner {
    lua_dir: PathBuf,
    tmp: PathBuf,
    duration: u64,
    ticks_per_second: f64,
}

impl Runner {
    /// Runs wrk once against `address` with the scenario's script and
    /// `params`, watching the server `pid`.
    fn wrk(
        &self,
        script: &str,
        flows: bool,
        connections: u32,
        address: SocketAddr,
        pid: u32,
        params: &str,
    ) -> anyhow::Result<Sample> {
        let params_path = self.tmp.join("params.txt");
        std::fs::write(&params_path, params)?;
        let hwm_reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
        let cpu_before = proc_cpu_ticks(pid).unwrap_or(0);
        let threads = connections.min(2);
        let mut child = Command::new("wrk")
            .arg(format!("-t{threads}"))
            .arg(format!("-c{connections}"))
            .arg(format!("-d{}s", self.duration))
            .args(["--timeout", "30s", "-s"])
            .arg(self.lua_dir.join(format!("{script}.lua")))
            .arg(format!("http://{address}"))
            .env("BENCH_LUA_DIR", &self.lua_dir)
            .env("BENCH_PARAMS", &params_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start wrk")?;
        let started = Instant::now();
        let deadline = started + Duration::from_secs(self.duration + 60);
        let mut rss_peak = 0;
        loop {
            if child.try_wait()?.is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("wrk did not finish in time");
            }
            rss_peak = rss_peak.max(proc_status_kib(pid, "VmRSS:").unwrap_or(0));
            std::thread::sleep(Duration::from_millis(100));
        }
        let elapsed = started.elapsed().as_secs_f64();
        let cpu_after = proc_cpu_ticks(pid).unwrap_or(cpu_before);
        if hwm_reset {
            rss_peak = rss_peak.max(proc_status_kib(pid, "VmHWM:").unwrap_or(0));
        }
        let output = child.wait_with_output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("BENCH_RESULT "))
            .with_context(|| {
                format!(
                    "wrk printed no result: {stdout} {}",
                    String::from_utf8_lossy(&output.stderr)
                )
            })?;
        let r: Value = serde_json::from_str(line)?;
        let n = |k: &str| r.get(k).and_then(Value::as_u64).unwrap_or(0);
        let seconds = n("duration_us") as f64 / 1e6;
        let requests = n("requests");
        let checked = r.get("checked").and_then(Value::as_bool).unwrap_or(false);
        let socket_errors = n("connect") + n("read") + n("write") + n("timeout");
        let errors = socket_errors + if checked { n("bad") } else { n("status") };
        let count = if flows { n("flows") } else { requests };
        Ok(Sample {
            rate: count as f64 / seconds.max(1e-9),
            p50_ms: n("p50_us") as f64 / 1000.0,
            p99_ms: n("p99_us") as f64 / 1000.0,
            errors,
            requests,
            cpu: (cpu_after - cpu_before) as f64 / self.ticks_per_second / elapsed * 100.0,
            rss_kib: rss_peak,
            bytes_per_response: n("bytes") as f64 / (requests.max(1)) as f64,
        })
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Medians of each figure over the runs; errors are summed.
fn summarize(samples: &[Sample]) -> Sample {
    let pick = |f: fn(&Sample) -> f64| median(samples.iter().map(f).collect());
    Sample {
        rate: pick(|s| s.rate),
        p50_ms: pick(|s| s.p50_ms),
        p99_ms: pick(|s| s.p99_ms),
        errors: samples.iter().map(|s| s.errors).sum(),
        requests: samples.iter().map(|s| s.requests).sum(),
        cpu: pick(|s| s.cpu),
        rss_kib: samples.iter().map(|s| s.rss_kib).max().unwrap_or(0),
        bytes_per_response: pick(|s| s.bytes_per_response),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Server,
    NoDb,
    Lookup,
    /// The server running the plain `code_flow` script (the baseline of
    /// `openid_code_flow`).
    PlainFlow,
}

struct Row {
    scenario: &'static str,
    flows: bool,
    connections: u32,
    server: Sample,
    nodb: Option<Sample>,
    lookup: Option<Sample>,
    plain: Option<Sample>,
}

#[allow(clippy::too_many_lines)]
/// The ID token signing cost per algorithm, in-process (no wrk needed):
/// µs per compact JWS of a typical set of claims, on one thread.
fn signing_cost() -> anyhow::Result<()> {
    use adapters::jose::JoseSigner;
    use domain::id_token::{IdTokenClaims, JwsAlgorithm};
    use domain::ports::{Clock as _, IdTokenSigner as _};
    let clock = std::sync::Arc::new(adapters::system::SystemClock);
    let now = clock.now();
    let signer = JoseSigner::generate_in_memory(clock)?;
    let claims = IdTokenClaims {
        issuer: "https://auth.example.com".into(),
        subject: domain::ids::UserId::from_random_bytes([1; 16]),
        audience: domain::ids::ClientId::parse("bench-client").context("client id")?,
        expires_at: now,
        issued_at: now,
        auth_time: Some(now),
        nonce: Some("n-0S6_WzA2Mj".into()),
        access_token_hash: Some("77QmUPtjPfzWtF2AnpK9RQ".into()),
        code_hash: None,
        authentication_methods: vec!["pwd".into()],
        acr: None,
        session_id: Some("sid".into()),
        user_claims: Vec::new(),
    };
    for alg in JwsAlgorithm::ALL {
        let rounds = 2_000u32;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            signer.sign(alg, &claims)?;
        }
        let sign = start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
        let token = signer.sign(alg, &claims)?;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(signer.verify_own(&token));
        }
        let verify = start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
        println!(
            "signing {alg:<6} {sign:8.1} µs/signature  {verify:8.1} µs/verification (one thread)"
        );
    }
    Ok(())
}

fn run(args: &RunArgs) -> anyhow::Result<()> {
    signing_cost()?;
    check_wrk()?;
    let root = workspace_root();
    let server_bin = server_binary(&root, !args.no_build)?;
    let tmp_path = std::env::temp_dir().join(format!("oauth2-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp_path)?;
    let tmp = TempDir(tmp_path.clone());
    let scenarios: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|s| args.scenarios.is_empty() || args.scenarios.iter().any(|n| n == s.name))
        .collect();
    if scenarios.is_empty() {
        bail!("no such scenario: {}", args.scenarios.join(", "));
    }
    let max_connections = args.connections.iter().copied().max().unwrap_or(16);

    eprintln!(
        "measuring the bcrypt bound (cost {}, 5 s)…",
        args.bcrypt_cost
    );
    let (bcrypt_per_second, bcrypt_threads) = bcrypt_bound(args.bcrypt_cost, 5)?;
    eprintln!("bcrypt: {bcrypt_per_second:.1} verifications/s on {bcrypt_threads} threads");

    // The database.
    // Empty: the server migrates it at start. Dropped at the end of the run.
    let mut _pg_guard = None;
    let (database_url, backend) = match &args.database_url {
        Some(url) if url.starts_with("postgres") => {
            let database = test_support::PgDatabase::create(url, "bench")
                .context("cannot create the benchmark database on --database-url")?;
            let database_url = database.url().to_owned();
            _pg_guard = Some(database);
            (database_url, "PostgreSQL")
        }
        Some(url) => {
            bail!("--database-url must be a postgres:// URL (SQLite is the default): {url}")
        }
        None => (
            format!("sqlite://{}", tmp.0.join("bench.db").display()),
            "SQLite",
        ),
    };

    // The user and the client, through the admin CLI.
    admin(
        &server_bin,
        &database_url,
        args.bcrypt_cost,
        &[
            "user",
            "create",
            "--username",
            USERNAME,
            "--password",
            PASSWORD,
        ],
    )?;
    let created = admin(
        &server_bin,
        &database_url,
        args.bcrypt_cost,
        &[
            "client",
            "create",
            "--owner",
            USERNAME,
            "--name",
            "Bench",
            "--redirect-uri",
            REDIRECT_URI,
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "password",
            "--grant-type",
            "client_credentials",
            "--grant-type",
            "refresh_token",
            "--response-type",
            "code",
            "--scope",
            "openid profile",
            "--id-token-alg",
            &args.id_token_alg,
        ],
    )?;
    let client_id = json_field(&created, "client_id")?;
    let client_secret = json_field(&created, "client_secret")?;
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{}:{}",
            form_encode(&client_id),
            form_encode(&client_secret)
        ))
    );

    // The server.
    let port = free_port()?;
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let log = std::fs::File::create(tmp.0.join("server.log"))?;
    let mut server = Process {
        child: Command::new(&server_bin)
            .env_remove("CONFIG")
            .args(["serve", "--database-url", &database_url])
            .args(["--bind", &address.to_string()])
            .args(["--bcrypt-cost", &args.bcrypt_cost.to_string()])
            .args(["--log", &args.log])
            // Every flow of the bench is one user at one client, so one grant:
            // codes still queued in wrk when a run ends stay pending for
            // CODE_TTL and would trip this per-grant abuse quota (default 10)
            // in the next run. Real load spreads over many grants.
            .args(["--max-pending-codes-per-grant", "1000"])
            .args(&args.server_args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("cannot start the server")?,
        name: "oauth2-server",
    };
    wait_healthy(address, &mut server)?;

    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(CODE_VERIFIER.as_bytes()));
    let authorize_path = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope=profile&state=bench&code_challenge={challenge}&code_challenge_method=S256",
        form_encode(&client_id),
        form_encode(REDIRECT_URI)
    );
    // The same request with `openid` and a nonce: one ID token per flow,
    // signed with the client's algorithm (`--id-token-alg`).
    let openid_authorize_path = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20profile&state=bench&nonce=n-0S6_WzA2Mj&code_challenge={challenge}&code_challenge_method=S256",
        form_encode(&client_id),
        form_encode(REDIRECT_URI)
    );
    let mut setup = Setup {
        address,
        basic,
        access_token: String::new(),
        authorize_path,
        openid_authorize_path,
        sessions: Vec::new(),
    };
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let grant = client::request(
        address,
        "POST",
        "/oauth/token",
        &[("Authorization", &setup.basic), form],
        &format!(
            "grant_type=password&scope=profile&username={USERNAME}&password={}",
            form_encode(PASSWORD)
        ),
    )?;
    if grant.status != 200 {
        bail!(
            "the password grant answered {}: {}",
            grant.status,
            grant.body
        );
    }
    setup.access_token = json_field(&grant.body, "access_token")?;
    let bearer = format!("Bearer {}", setup.access_token);
    let me = client::request(address, "GET", "/api/me", &[("Authorization", &bearer)], "")?;
    let invalid_bearer = format!("Bearer {INVALID_TOKEN}");
    let me_invalid = client::request(
        address,
        "GET",
        "/api/me",
        &[("Authorization", &invalid_bearer)],
        "",
    )?;
    let introspection = client::request(
        address,
        "POST",
        "/oauth/introspect",
        &[("Authorization", &setup.basic), form],
        &format!("token={}", setup.access_token),
    )?;
    if me.status != 200 || me_invalid.status != 401 || introspection.status != 200 {
        bail!(
            "unexpected answers: /api/me {}, /api/me (invalid) {}, introspection {}",
            me.status,
            me_invalid.status,
            introspection.status
        );
    }
    eprintln!("logging in {max_connections} sessions…");
    for _ in 0..max_connections {
        let session = setup.session()?;
        setup.sessions.push(session);
    }
    let first = setup.sessions.first().context("no session")?.clone();
    setup.code_flow(&first)?;
    let openid = setup.flow(&first, &setup.openid_authorize_path)?;
    json_field(&openid, "id_token").context("the OpenID code flow")?;

    // The documents served from memory, captured for the ceiling.
    let mut documents = Vec::new();
    for path in [
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
    ] {
        let response = client::request(address, "GET", path, &[], "")?;
        if response.status != 200 {
            bail!("{path} answered {}", response.status);
        }
        documents.push(ceiling::Document {
            path: path.to_owned(),
            headers: ceiling::DOCUMENT_HEADERS
                .iter()
                .filter_map(|name| Some(((*name).to_owned(), response.header(name)?.to_owned())))
                .collect(),
            body: response.body,
        });
    }

    // The ceilings.
    let canned = ceiling::Canned {
        access_token: setup.access_token.clone(),
        client_id: client_id.clone(),
        me: me.body.clone(),
        me_invalid: me_invalid.body.clone(),
        me_invalid_challenge: me_invalid
            .header("www-authenticate")
            .unwrap_or("")
            .to_owned(),
        introspect: introspection.body.clone(),
        issuer: format!("http://{address}"),
        documents,
    };
    let canned_path = tmp.0.join("canned.json");
    std::fs::write(&canned_path, canned.to_json().to_string())?;
    let self_exe = std::env::current_exe()?;
    let start_ceiling =
        |sqlite: Option<PathBuf>, name: &'static str| -> anyhow::Result<(Process, SocketAddr)> {
            let port = free_port()?;
            let mut command = Command::new(&self_exe);
            command
                .args(["ceiling", "--port", &port.to_string(), "--canned"])
                .arg(&canned_path)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some(path) = &sqlite {
                command.arg("--sqlite").arg(path);
            }
            let mut process = Process {
                child: command.spawn()?,
                name,
            };
            let address = SocketAddr::from(([127, 0, 0, 1], port));
            wait_healthy(address, &mut process)?;
            Ok((process, address))
        };
    let (nodb, nodb_address) = start_ceiling(None, "ceiling (no database)")?;
    let (lookup, lookup_address) = start_ceiling(
        Some(tmp.0.join("ceiling.db")),
        "ceiling (one SQLite lookup)",
    )?;

    let runner = Runner {
        lua_dir: root.join("bench/lua"),
        tmp: tmp.0.clone(),
        duration: args.duration,
        ticks_per_second: clock_ticks(),
    };
    let base_params = |threads: u32| {
        let mut p = String::new();
        let _ = writeln!(p, "basic={}", setup.basic);
        let _ = writeln!(p, "username={USERNAME}");
        let _ = writeln!(p, "password={}", form_encode(PASSWORD));
        let _ = writeln!(p, "access_token={}", setup.access_token);
        let _ = writeln!(p, "invalid_token={INVALID_TOKEN}");
        let _ = writeln!(p, "threads={threads}");
        let _ = writeln!(p, "redirect_uri={}", form_encode(REDIRECT_URI));
        let _ = writeln!(p, "code_verifier={CODE_VERIFIER}");
        let _ = writeln!(p, "authorize_path={}", setup.authorize_path);
        let _ = writeln!(p, "openid_authorize_path={}", setup.openid_authorize_path);
        for (cookie, csrf) in &setup.sessions {
            let _ = writeln!(p, "cookie={cookie}");
            let _ = writeln!(p, "csrf={}", form_encode(csrf));
        }
        p
    };

    let total = scenarios.iter().map(|s| s.targets.len()).sum::<usize>()
        * args.connections.len()
        * args.runs;
    eprintln!(
        "{total} measurements of {} s on {backend} (about {} min)…",
        args.duration,
        (total as u64 * (args.duration + 1)).div_ceil(60)
    );
    let mut rows = Vec::new();
    for scenario in &scenarios {
        for &connections in &args.connections {
            let mut samples: Vec<(Target, Sample)> = Vec::new();
            for run in 0..args.runs {
                for &target in scenario.targets {
                    let threads = connections.min(2);
                    let mut params = base_params(threads);
                    let seeds = connections as usize + 8;
                    if scenario.name == "refresh_token" {
                        for i in 0..seeds {
                            let token = match target {
                                Target::Server => {
                                    setup.code_flow(&setup.sessions[i % setup.sessions.len()])?
                                }
                                _ => format!("seed{i}"),
                            };
                            let _ = writeln!(params, "refresh_token={token}");
                        }
                    }
                    let (address, pid) = match target {
                        Target::Server | Target::PlainFlow => (address, server.pid()),
                        Target::NoDb => (nodb_address, nodb.pid()),
                        Target::Lookup => (lookup_address, lookup.pid()),
                    };
                    let script = match target {
                        Target::PlainFlow => "code_flow",
                        _ => scenario.name,
                    };
                    let sample =
                        runner.wrk(script, scenario.flows, connections, address, pid, &params)?;
                    eprintln!(
                        "  {:<18} c={connections:<3} run {} {:<7} {:>9.0}/s p50 {:>6.2} ms p99 {:>7.2} ms errors {} cpu {:.0}% rss {} MiB",
                        scenario.name,
                        run + 1,
                        match target {
                            Target::Server => "server",
                            Target::NoDb => "ceiling",
                            Target::Lookup => "lookup",
                            Target::PlainFlow => "plain",
                        },
                        sample.rate,
                        sample.p50_ms,
                        sample.p99_ms,
                        sample.errors,
                        sample.cpu,
                        sample.rss_kib / 1024
                    );
                    samples.push((target, sample));
                }
            }
            let of = |t: Target| -> Vec<Sample> {
                samples
                    .iter()
                    .filter(|(target, _)| *target == t)
                    .map(|(_, s)| s.clone())
                    .collect()
            };
            let nodb_samples = of(Target::NoDb);
            let lookup_samples = of(Target::Lookup);
            let plain_samples = of(Target::PlainFlow);
            rows.push(Row {
                scenario: scenario.name,
                flows: scenario.flows,
                connections,
                server: summarize(&of(Target::Server)),
                nodb: (!nodb_samples.is_empty()).then(|| summarize(&nodb_samples)),
                lookup: (!lookup_samples.is_empty()).then(|| summarize(&lookup_samples)),
                plain: (!plain_samples.is_empty()).then(|| summarize(&plain_samples)),
            });
        }
    }
    drop(server);
    drop(nodb);
    drop(lookup);

    let report = report(args, backend, &rows, bcrypt_per_second, bcrypt_threads);
    println!("{report}");
    let out_dir = root.join("target/bench");
    std::fs::create_dir_all(&out_dir)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let out = out_dir.join(format!("{}-{stamp}.md", backend.to_ascii_lowercase()));
    std::fs::write(&out, &report)?;
    eprintln!("written to {}", out.display());
    Ok(())
}

fn ratio(value: f64, bound: f64) -> String {
    if bound > 0.0 {
        format!("{:.0} %", value / bound * 100.0)
    } else {
        "–".to_owned()
    }
}

fn report(
    args: &RunArgs,
    backend: &str,
    rows: &[Row],
    bcrypt_per_second: f64,
    bcrypt_threads: usize,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {backend}: {} s per measurement, median of {} runs, wrk -t2, bcrypt cost {}\n",
        args.duration, args.runs, args.bcrypt_cost
    );
    let _ = writeln!(
        out,
        "bcrypt bound: {bcrypt_per_second:.1} verifications/s ({bcrypt_threads} threads)\n"
    );
    let _ = writeln!(
        out,
        "| scenario | conns | rate | p50 ms | p99 ms | errors | peak RSS MiB | CPU % | ceiling | % of ceiling | lookup ceiling | % of lookup |"
    );
    let _ = writeln!(
        out,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for row in rows {
        let unit = if row.flows { "flows/s" } else { "req/s" };
        let (ceiling, of_ceiling) = match (&row.nodb, row.scenario) {
            (Some(c), _) => (format!("{:.0}", c.rate), ratio(row.server.rate, c.rate)),
            (None, "password") => (
                format!("bcrypt {bcrypt_per_second:.1}"),
                ratio(row.server.rate, bcrypt_per_second),
            ),
            (None, _) => ("–".to_owned(), "–".to_owned()),
        };
        let (lookup, of_lookup) = match &row.lookup {
            Some(c) => (format!("{:.0}", c.rate), ratio(row.server.rate, c.rate)),
            None => ("–".to_owned(), "–".to_owned()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} {unit} | {:.2} | {:.2} | {}{} | {:.1} | {:.0} | {ceiling} | {of_ceiling} | {lookup} | {of_lookup} |",
            row.scenario,
            row.connections,
            row.server.rate,
            row.server.p50_ms,
            row.server.p99_ms,
            row.server.errors,
            if row.server.errors > 0 { " (errors!)" } else { "" },
            row.server.rss_kib as f64 / 1024.0,
            row.server.cpu,
        );
    }
    if rows.iter().any(|r| r.plain.is_some()) {
        let _ = writeln!(
            out,
            "\nThe code flow with `openid` (one {} ID token per flow) against the same flow without it, in turn on the same server:\n",
            args.id_token_alg
        );
        let _ = writeln!(
            out,
            "| conns | with openid | p99 ms | plain code flow | p99 ms | % of plain | CPU % (openid / plain) |"
        );
        let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---|");
        for row in rows {
            if let Some(plain) = &row.plain {
                let _ = writeln!(
                    out,
                    "| {} | {:.0} flows/s | {:.2} | {:.0} flows/s | {:.2} | {} | {:.0} / {:.0} |",
                    row.connections,
                    row.server.rate,
                    row.server.p99_ms,
                    plain.rate,
                    plain.p99_ms,
                    ratio(row.server.rate, plain.rate),
                    row.server.cpu,
                    plain.cpu,
                );
            }
        }
    }
    let _ = writeln!(out, "\nCeilings (same runs):\n");
    let _ = writeln!(
        out,
        "| scenario | conns | ceiling | rate | p50 ms | p99 ms | errors | peak RSS MiB | CPU % | bytes/resp (server) | bytes/resp (ceiling) |"
    );
    let _ = writeln!(
        out,
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for row in rows {
        for (name, sample) in [("no database", &row.nodb), ("one lookup", &row.lookup)] {
            if let Some(c) = sample {
                let _ = writeln!(
                    out,
                    "| {} | {} | {name} | {:.0} | {:.2} | {:.2} | {} | {:.1} | {:.0} | {:.0} | {:.0} |",
                    row.scenario,
                    row.connections,
                    c.rate,
                    c.p50_ms,
                    c.p99_ms,
                    c.errors,
                    c.rss_kib as f64 / 1024.0,
                    c.cpu,
                    row.server.bytes_per_response,
                    c.bytes_per_response,
                );
            }
        }
    }
    out
}
