//! `GET /metrics` in the Prometheus text format (version 0.0.4): requests
//! by route and status, latency histograms by route, tokens issued by grant
//! type, OAuth errors by endpoint and code, and the database pool's state.
//!
//! Kept in process (each instance exposes its own counters, as Prometheus
//! expects); routes are the matched patterns (`/clients/{client_id}`), so
//! the label set stays small whatever the paths requested. The series are
//! `prometheus-client` families: a request takes a shared read lock to find
//! its series and counts with an atomic add (the histogram of its route
//! holds a short lock of its own), instead of one process-wide mutex.

use actix_web::{web, HttpResponse};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct GrantLabels {
    grant_type: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ErrorLabels {
    endpoint: &'static str,
    error: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The counters of this process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    tokens_issued: Family<GrantLabels, Counter>,
    oauth_errors: Family<ErrorLabels, Counter>,
    client_auth_failures: Family<EndpointLabels, Counter>,
    pool_connections: Gauge,
    pool_idle_connections: Gauge,
    pool_max_connections: Gauge,
}

/// Registers each named field of `$metrics` in `$registry` under its name
/// and help text (the fields differ in type, so a loop cannot).
macro_rules! register {
    ($registry:ident, $metrics:ident, { $($field:ident: $name:literal, $help:literal;)* }) => {
        $($registry.register($name, $help, $metrics.$field.clone());)*
    };
}

impl Default for Metrics {
    fn default() -> Self {
        let metrics = Self {
            registry: Registry::default(),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            tokens_issued: Family::default(),
            oauth_errors: Family::default(),
            client_auth_failures: Family::default(),
            pool_connections: Gauge::default(),
            pool_idle_connections: Gauge::default(),
            pool_max_connections: Gauge::default(),
        };
        let mut registry = Registry::default();
        // Counters are registered without `_total`: the encoder appends it.
        register!(registry, metrics, {
            requests: "http_requests", "HTTP requests answered, by route, method and status";
            latency: "http_request_duration_seconds", "Time to answer a request, by route";
            tokens_issued: "oauth_tokens_issued", "Access tokens issued, by grant type";
            oauth_errors: "oauth_errors", "OAuth error responses, by endpoint and error code";
            client_auth_failures: "oauth_client_auth_failures", "Failed client authentications, by endpoint";
            pool_connections: "db_pool_connections", "Database connections open in the pool";
            pool_idle_connections: "db_pool_idle_connections", "Open database connections not in use";
            pool_max_connections: "db_pool_max_connections", "Largest number of pooled connections";
        });
        Self {
            registry,
            ..metrics
        }
    }
}

impl Metrics {
    /// Counts a finished request. Methods outside the usual set count as
    /// `OTHER`, so that made-up methods cannot grow the label set.
    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let method = match method {
            "GET" => "GET",
            "POST" => "POST",
            "HEAD" => "HEAD",
            "OPTIONS" => "OPTIONS",
            "PUT" => "PUT",
            "DELETE" => "DELETE",
            "PATCH" => "PATCH",
            _ => "OTHER",
        };
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Counts an issued token.
    pub fn token_issued(&self, grant_type: &'static str) {
        self.tokens_issued
            .get_or_create(&GrantLabels { grant_type })
            .inc();
    }

    /// Counts an OAuth error answered by `endpoint`.
    pub fn oauth_error(&self, endpoint: &'static str, code: &'static str) {
        self.oauth_errors
            .get_or_create(&ErrorLabels {
                endpoint,
                error: code,
            })
            .inc();
    }

    /// Counts a failed client authentication at `endpoint` (answered
    /// `invalid_client`, or `slow_down` past the per-address limit).
    pub fn client_auth_failed(&self, endpoint: &'static str) {
        self.client_auth_failures
            .get_or_create(&EndpointLabels { endpoint })
            .inc();
    }

    /// The Prometheus text exposition, with the pool's state as of now.
    #[must_use]
    pub fn render(&self, pool: r2d2::State, pool_max: u32) -> String {
        self.pool_connections.set(i64::from(pool.connections));
        self.pool_idle_connections
            .set(i64::from(pool.idle_connections));
        self.pool_max_connections.set(i64::from(pool_max));
        let mut out = String::new();
        // Writing to a `String` does not fail, nor do these label values.
        if prometheus_text::encode(&mut out, &self.registry).is_err() {
            tracing::error!("the metrics could not be encoded");
        }
        out
    }
}

/// `GET /metrics`.
pub async fn get(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.store.pool();
    HttpResponse::Ok()
        .content_type(prometheus_text::CONTENT_TYPE)
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
        // The names and types scrapers and dashboards know.
        for family in [
            "# TYPE http_requests_total counter",
            "# TYPE http_request_duration_seconds histogram",
            "# TYPE oauth_tokens_issued_total counter",
            "# TYPE oauth_errors_total counter",
            "# TYPE oauth_client_auth_failures_total counter",
            "# TYPE db_pool_connections gauge",
            "# TYPE db_pool_idle_connections gauge",
            "# TYPE db_pool_max_connections gauge",
        ] {
            assert!(text.contains(family), "no {family} in\n{text}");
        }
        assert!(text.contains("http_request_duration_seconds_count{route=\"/oauth/token\"} 2"));
    }

    #[test]
    fn made_up_methods_count_as_other() {
        let metrics = Metrics::default();
        metrics.request("unmatched", "BREW", 404, 0.001);

        let text = metrics.render(r2d2_state(), 1);

        assert!(
            text.contains(
                "http_requests_total{route=\"unmatched\",method=\"OTHER\",status=\"404\"} 1"
            ),
            "{text}"
        );
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
