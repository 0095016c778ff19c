//! Log output: text or JSON lines on stderr, with every logged value made
//! safe to print. A value may come from the request (a path segment is
//! percent-decoded by the extractor): a raw `\n` would forge a log line and
//! `ESC` would reach the operator's terminal. The text format therefore
//! escapes control and bidirectional-override characters in every field
//! (JSON strings escape control characters already, RFC 8259 §7), and
//! colours are written only to a terminal, never to a file or pipe.

use std::fmt::{self, Write as _};
use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FormatFields, MakeWriter};
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::LogFormat;

/// Installs the global subscriber: log lines go to stderr, as text or one
/// JSON object per line.
///
/// They are written by a background thread, so that a request's worker
/// does not make a `write` system call per line; none is dropped (when the
/// queue is full, the logging thread waits). The returned guard flushes the
/// queue when dropped, at exit.
pub fn init_logging(
    format: LogFormat,
    filter: &str,
) -> tracing_appender::non_blocking::WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(16_384)
        .thread_name("log-writer")
        .finish(std::io::stderr());
    let ansi = std::io::stderr().is_terminal();
    // `try_init` also routes the `log` crate's records into it.
    subscriber(format, filter, writer, ansi).try_init().ok();
    guard
}

/// The subscriber [`init_logging`] installs, writing to `writer`, with ANSI
/// colours only when `ansi` (text format only).
pub fn subscriber<W>(
    format: LogFormat,
    filter: &str,
    writer: W,
    ansi: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::builder()
        .parse(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.fmt_fields(EscapedFields).with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .with_ansi(false)
                .flatten_event(true)
                // The request span (`http::logging`): its `request_id` in
                // every line logged while answering a request.
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
    }
}

/// The text format's fields, as `tracing-subscriber` writes them (the
/// message, then `name=value` separated by spaces), with [`escape`] applied
/// to every value.
#[derive(Debug, Clone, Copy, Default)]
pub struct EscapedFields;

impl<'w> FormatFields<'w> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut visitor = EscapingVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct EscapingVisitor<'w> {
    writer: Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl Visit for EscapingVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        let separator = if self.first { "" } else { " " };
        self.first = false;
        let value = format!("{value:?}");
        self.result = if field.name() == "message" {
            write!(self.writer, "{separator}{}", escape(&value))
        } else {
            write!(
                self.writer,
                "{separator}{}={}",
                field.name(),
                escape(&value)
            )
        };
    }
}

/// `value` with every control character (C0, DEL, C1: `\n`, `\r`, `ESC`…),
/// bidirectional override or isolate and line or paragraph separator written
/// as a `\u{…}` escape, so that a value is one line of plain text.
#[must_use]
pub fn escape(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if needs_escape(c) {
            let _ = write!(out, "{}", c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::io::{Read, Seek, SeekFrom};
    use std::sync::Arc;

    use super::*;

    /// What a subscriber of `format` writes while `emit` runs (an
    /// anonymous file is a shared writer: `&File` is `Write`).
    fn log_of(format: LogFormat, ansi: bool, emit: impl FnOnce()) -> String {
        let file = Arc::new(tempfile::tempfile().unwrap());
        let subscriber = subscriber(format, "info", file.clone(), ansi);
        tracing::subscriber::with_default(subscriber, emit);
        let mut reader: &std::fs::File = &file;
        reader.seek(SeekFrom::Start(0)).unwrap();
        let mut log = String::new();
        reader.read_to_string(&mut log).unwrap();
        log
    }

    const FORGED: &str =
        "x\n2026-12-01T00:00:00Z  INFO request path=/admin status=200\r\u{1b}[2J\u{202e}";

    fn log_with(format: LogFormat, ansi: bool) -> String {
        log_of(format, ansi, || {
            tracing::info!(event = "app_revoked", client_id = %FORGED, "revoked {}", FORGED);
        })
    }

    #[test]
    fn text_logs_escape_control_characters_in_every_value() {
        let log = log_with(LogFormat::Text, false);

        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(
            !log.contains('\u{1b}') && !log.contains('\r') && !log.contains('\u{202e}'),
            "{log:?}"
        );
        assert!(log.contains("client_id=x\\u{a}2026"), "{log}");
        assert!(log.contains("event=\"app_revoked\""), "{log}");
    }

    #[test]
    fn json_logs_escape_them_and_never_carry_colours() {
        for ansi in [false, true] {
            let log = log_with(LogFormat::Json, ansi);

            assert_eq!(log.lines().count(), 1, "{log}");
            assert!(!log.contains('\u{1b}') && !log.contains('\r'), "{log:?}");
            let line: serde_json::Value = serde_json::from_str(&log).unwrap();
            assert_eq!(line["client_id"], FORGED);
        }
    }

    #[test]
    fn both_formats_name_the_request_of_an_event() {
        for format in [LogFormat::Text, LogFormat::Json] {
            let log = log_of(format, false, || {
                tracing::info_span!("request", request_id = %"r-42").in_scope(|| {
                    tracing::warn!(event = "refresh_reuse_detected");
                });
            });

            match format {
                LogFormat::Text => assert!(log.contains("request{request_id=r-42}"), "{log}"),
                LogFormat::Json => {
                    let line: serde_json::Value = serde_json::from_str(&log).unwrap();
                    assert_eq!(line["span"]["request_id"], "r-42", "{log}");
                    assert_eq!(line["event"], "refresh_reuse_detected", "{log}");
                }
            }
        }
    }

    #[test]
    fn colours_only_when_asked_for() {
        assert!(!log_with(LogFormat::Text, false).contains('\u{1b}'));
        assert!(log_with(LogFormat::Text, true).contains('\u{1b}'));
    }

    #[test]
    fn escape_leaves_plain_text_alone() {
        assert_eq!(escape("café /clients/ab-12"), "café /clients/ab-12");
        assert_eq!(escape("a\u{85}b\u{7f}"), "a\\u{85}b\\u{7f}");
    }
}
