//! `GET /metrics` in the Prometheus text format: requests by route and
//! status, latency histograms by route, tokens issued by grant type, OAuth
//! errors by endpoint and code, and the database pool's state.
//!
//! Kept in process (each instance exposes its own counters, as Prometheus
//! expects); routes are the matched patterns (`/clients/{client_id}`), so
//! the label set stays small whatever the paths requested.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, MutexGuard, PoisonError};

use actix_web::{web, HttpResponse};

use super::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    tokens_issued: BTreeMap<&'static str, u64>,
    oauth_errors: BTreeMap<(&'static str, &'static str), u64>,
    client_auth_failures: BTreeMap<&'static str, u64>,
}

/// The counters of this process.
#[derive(Debug, Default)]
pub struct Metrics(Mutex<Counters>);

impl Metrics {
    fn counters(&self) -> MutexGuard<'_, Counters> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a finished request. Methods outside the usual set count as
    /// `OTHER`, so that made-up methods cannot grow the label set.
    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let method = match method {
            "GET" | "POST" | "HEAD" | "OPTIONS" | "PUT" | "DELETE" | "PATCH" => method,
            _ => "OTHER",
        };
        let mut counters = self.counters();
        *counters
            .requests
            .entry((route.to_owned(), method.to_owned(), status))
            .or_default() += 1;
        let histogram = counters.latency.entry(route.to_owned()).or_default();
        for (bucket, bound) in histogram.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        histogram.sum += seconds;
        histogram.count += 1;
    }

    /// Counts an issued token.
    pub fn token_issued(&self, grant_type: &'static str) {
        *self.counters().tokens_issued.entry(grant_type).or_default() += 1;
    }

    /// Counts an OAuth error answered by `endpoint`.
    pub fn oauth_error(&self, endpoint: &'static str, code: &'static str) {
        *self
            .counters()
            .oauth_errors
            .entry((endpoint, code))
            .or_default() += 1;
    }

    /// Counts a failed client authentication at `endpoint` (answered
    /// `invalid_client`, or `slow_down` past the per-address limit).
    pub fn client_auth_failed(&self, endpoint: &'static str) {
        *self
            .counters()
            .client_auth_failures
            .entry(endpoint)
            .or_default() += 1;
    }

    /// The Prometheus text exposition, with the pool's state appended.
    #[must_use]
    pub fn render(&self, pool: r2d2::State, pool_max: u32) -> String {
        let counters = self.counters();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP http_requests_total HTTP requests answered, by route, method and status."
        );
        let _ = writeln!(out, "# TYPE http_requests_total counter");
        for ((route, method, status), n) in &counters.requests {
            let _ = writeln!(
                out,
                "http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                label(route)
            );
        }
        let _ = writeln!(
            out,
            "# HELP http_request_duration_seconds Time to answer a request, by route."
        );
        let _ = writeln!(out, "# TYPE http_request_duration_seconds histogram");
        for (route, histogram) in &counters.latency {
            let route = label(route);
            for (bound, n) in BUCKETS.iter().zip(histogram.buckets) {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                histogram.sum
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                histogram.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP oauth_tokens_issued_total Access tokens issued, by grant type."
        );
        let _ = writeln!(out, "# TYPE oauth_tokens_issued_total counter");
        for (grant, n) in &counters.tokens_issued {
            let _ = writeln!(
                out,
                "oauth_tokens_issued_total{{grant_type=\"{grant}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP oauth_errors_total OAuth error responses, by endpoint and error code."
        );
        let _ = writeln!(out, "# TYPE oauth_errors_total counter");
        for ((endpoint, code), n) in &counters.oauth_errors {
            let _ = writeln!(
                out,
                "oauth_errors_total{{endpoint=\"{endpoint}\",error=\"{code}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP oauth_client_auth_failures_total Failed client authentications, by endpoint."
        );
        let _ = writeln!(out, "# TYPE oauth_client_auth_failures_total counter");
        for (endpoint, n) in &counters.client_auth_failures {
            let _ = writeln!(
                out,
                "oauth_client_auth_failures_total{{endpoint=\"{endpoint}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP db_pool_connections Database connections open in the pool."
        );
        let _ = writeln!(out, "# TYPE db_pool_connections gauge");
        let _ = writeln!(out, "db_pool_connections {}", pool.connections);
        let _ = writeln!(
            out,
            "# HELP db_pool_idle_connections Open database connections not in use."
        );
        let _ = writeln!(out, "# TYPE db_pool_idle_connections gauge");
        let _ = writeln!(out, "db_pool_idle_connections {}", pool.idle_connections);
        let _ = writeln!(
            out,
            "# HELP db_pool_max_connections Largest number of pooled connections."
        );
        let _ = writeln!(out, "# TYPE db_pool_max_connections gauge");
        let _ = writeln!(out, "db_pool_max_connections {pool_max}");
        out
    }
}

/// Escapes a label value (`\`, `"`, newline).
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`.
pub async fn get(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.store.pool();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(state.metrics.render(pool.state(), pool.max_size()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_in_the_text_format() {
        let metrics = Metrics::default();
        metrics.request("/oauth/token", "POST", 200, 0.003);
        metrics.request("/oauth/token", "POST", 200, 0.2);
        metrics.token_issued("password");
        metrics.oauth_error("token", "invalid_grant");
        metrics.client_auth_failed("revoke");

        let text = metrics.render(r2d2_state(), 8);

        assert!(text.contains(
            "http_requests_total{route=\"/oauth/token\",method=\"POST\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{route=\"/oauth/token\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{route=\"/oauth/token\",le=\"+Inf\"} 2"
        ));
        assert!(text.contains("oauth_tokens_issued_total{grant_type=\"password\"} 1"));
        assert!(text.contains("oauth_errors_total{endpoint=\"token\",error=\"invalid_grant\"} 1"));
        assert!(text.contains("oauth_client_auth_failures_total{endpoint=\"revoke\"} 1"));
        assert!(text.contains("db_pool_max_connections 8"));
    }

    fn r2d2_state() -> r2d2::State {
        // r2d2::State has private fields; take one from a real (tiny) pool.
        #[derive(Debug)]
        struct Nothing;
        impl r2d2::ManageConnection for Nothing {
            type Connection = ();
            type Error = std::io::Error;
            fn connect(&self) -> Result<(), std::io::Error> {
                Ok(())
            }
            fn is_valid(&self, _: &mut ()) -> Result<(), std::io::Error> {
                Ok(())
            }
            fn has_broken(&self, _: &mut ()) -> bool {
                false
            }
        }
        r2d2::Pool::builder()
            .max_size(1)
            .build(Nothing)
            .unwrap()
            .state()
    }
}
