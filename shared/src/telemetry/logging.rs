//! JSON logs through `tracing`.
//!
//! Lambda's log-level filtering (`ApplicationLogLevel`, JSON log format) reads each line's
//! `level` and `timestamp` keys: a line whose `level` is missing or invalid, or whose
//! `timestamp` is not RFC 3339, counts as INFO. Application lines therefore carry an RFC 3339
//! `timestamp` (UTC, milliseconds), so a WARN or ERROR line keeps its level. EMF lines have no
//! `level` and count as INFO: the template keeps `ApplicationLogLevel` at INFO or below
//! whatever `LOG_LEVEL` is (the code filters its own lines by `LOG_LEVEL`), so metrics are never
//! filtered out.

use chrono::{SecondsFormat, Utc};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Formats log timestamps as RFC 3339 in UTC with milliseconds (`2026-11-16T09:30:00.123Z`),
/// the form Lambda's log-level filtering accepts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rfc3339;

impl FormatTime for Rfc3339 {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        write!(
            w,
            "{}",
            Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
        )
    }
}

/// Installs the JSON log subscriber for a Lambda function, writing to standard output (see
/// [`subscriber`]). `level` is `LOG_LEVEL` (`error`, `warn`, `info`, `debug`, `trace`, or a
/// full filter directive; an unreadable one means `info`).
pub fn init(level: &str) {
    let _ = tracing::subscriber::set_global_default(subscriber(level, std::io::stdout));
}

/// The functions' log format, writing to `writer`: one JSON object per line, the event's
/// fields at the top level, and a `spans` list with the fields of every enclosing span,
/// outermost first: the Lambda runtime's `Lambda runtime invoke` span (`requestId`,
/// `xrayTraceId`) and, around each record, the `record` span (`stage`, `correlation_id`,
/// `event_id`). An RFC 3339 `timestamp` ([`Rfc3339`]); no ANSI colours, no targets.
pub fn subscriber<W>(level: &str, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .flatten_event(true)
        .with_target(false)
        .with_timer(Rfc3339)
        .with_ansi(false)
        .with_writer(writer)
        .finish()
}

#[cfg(test)]
mod tests {
    use crate::testing::CapturedLogs;

    #[test]
    fn lines_are_json_with_the_fields_of_every_enclosing_span() {
        let captured = CapturedLogs::default();
        {
            let _logs = captured.install("info");
            let invoke = tracing::info_span!("Lambda runtime invoke", requestId = "req-1");
            let _invoke = invoke.enter();
            let record = tracing::info_span!(
                "record",
                stage = "fred",
                correlation_id = "corr-1",
                event_id = tracing::field::Empty,
            );
            let _record = record.enter();
            record.record("event_id", "ev-1");
            tracing::info!(outcome = "dropped", "record dropped");
            tracing::debug!("filtered out at info");
        }
        let lines = captured.lines().expect("JSON lines");
        assert_eq!(lines.len(), 1, "{lines:?}");
        let line = &lines[0];
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "record dropped");
        assert_eq!(line["outcome"], "dropped");
        let timestamp = line["timestamp"].as_str().expect("timestamp");
        assert!(
            chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(),
            "{timestamp} is RFC 3339"
        );
        assert_eq!(line["spans"][0]["name"], "Lambda runtime invoke");
        assert_eq!(line["spans"][0]["requestId"], "req-1");
        assert_eq!(line["spans"][1]["stage"], "fred");
        assert_eq!(line["spans"][1]["correlation_id"], "corr-1");
        assert_eq!(line["spans"][1]["event_id"], "ev-1");
    }

    /// The level Lambda's log-level filtering gives a JSON line, as AWS documents it: its
    /// `level` key (TRACE..FATAL, any case); INFO when `level` is missing or invalid, or when the
    /// line has a `timestamp` that is not RFC 3339.
    fn lambda_level(line: &str) -> u8 {
        const LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
        let info = 2;
        let Ok(json) = serde_json::from_str::<serde_json::Value>(line) else {
            return info;
        };
        if let Some(timestamp) = json.get("timestamp") {
            let valid = timestamp
                .as_str()
                .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok());
            if !valid {
                return info;
            }
        }
        json.get("level")
            .and_then(serde_json::Value::as_str)
            .and_then(|level| LEVELS.iter().position(|l| l.eq_ignore_ascii_case(level)))
            .map_or(info, |position| position as u8)
    }

    #[test]
    fn application_lines_keep_their_level_and_emf_lines_count_as_info_under_lambda_filtering() {
        let warn = 3;
        let captured = CapturedLogs::default();
        {
            let _logs = captured.install("info");
            tracing::warn!(reason = "throttled", "resend failed");
            tracing::info!("record dropped");
        }
        let raw = captured.raw_lines();
        assert_eq!(raw.len(), 2, "{raw:?}");
        assert!(
            lambda_level(&raw[0]) >= warn,
            "a WARN line passes a WARN filter: {}",
            raw[0]
        );
        assert!(
            lambda_level(&raw[1]) < warn,
            "an INFO line does not: {}",
            raw[1]
        );

        let mut metrics = crate::telemetry::metrics::MetricsBatch::default();
        metrics.count("RecordsIn", 3.0);
        let emf = metrics.to_emf("RewardMessaging/prod", "dec", "skybet", 1_763_285_400_000);
        assert_eq!(emf.len(), 1);
        assert_eq!(
            lambda_level(&emf[0]),
            2,
            "EMF lines count as INFO: ApplicationLogLevel must stay at INFO or below (template)"
        );
    }
}
