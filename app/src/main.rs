//! The `oauth2-server` binary.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use app::cli::{run, Cli};

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
    let log_guard = app::telemetry::init_logging(cli.config.log_format, &cli.config.log_filter);
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
