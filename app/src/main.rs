//! The `oauth2-server` binary.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use app::cli::{run, Cli};
use app::config::LogFormat;

fn main() -> ExitCode {
    // Clap prints help, version and syntax errors itself (exit code 2).
    let matches = Cli::command().get_matches();
    // Resolving the settings (file, defaults, checks) fails with one line.
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => {
            eprintln!("{}", error.to_string().trim_end());
            return ExitCode::from(2);
        }
    };
    let log_guard = init_logging(cli.config.log_format, &cli.config.log_filter);
    let outcome = actix_web::rt::System::new().block_on(run(cli));
    drop(log_guard);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", format!("{error:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// Log lines go to stderr, as text or one JSON object per line.
///
/// They are written by a background thread, so that a request's worker
/// does not make a `write` system call per line; none is dropped (when the
/// queue is full, the logging thread waits). The returned guard flushes the
/// queue when dropped, at exit.
fn init_logging(format: LogFormat, filter: &str) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::builder()
        .parse(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(16_384)
        .thread_name("log-writer")
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
    guard
}
