//! JSON logs through `tracing`.
//!
//! Lambda's log-level filtering (`ApplicationLogLevel`, JSON log format) reads each line's
//! `level` and `timestamp` keys: a line whose `level` is missing or invalid, or whose
//! `timestamp` is not RFC 3339, counts as INFO. Application lines therefore carry an RFC 3339
//! `timestamp` (UTC, milliseconds), so a WARN or ERROR line keeps its level. EMF lines have no
//! `level` and count as INFO: the template keeps `ApplicationLogLevel` at INFO or below
//! whatever `LOG_LEVEL` is (the code filters its own lines by `LOG_LEVEL`), so metrics are never
//! filtered out.

use std::fmt;

use chrono::{SecondsFormat, Utc};
use tracing::field::{Field, Visit};
use tracing::span::Record;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FormatFields, FormattedFields, MakeWriter};
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

/// The fields of a span, as a JSON object, written straight from the visit: the values
/// tracing-subscriber's [`JsonFields`](tracing_subscriber::fmt::format::JsonFields) writes (text as a string, `?`/`%` values as their
/// formatted text, numbers and booleans as JSON), without building a map of `serde_json::Value`s
/// first, and a field recorded later on an open span (`span.record(…)`, as every record span
/// gets its correlation and event ids once the body is read) appended to the object, where
/// `JsonFields` parses the object and writes it again. With the functions' subscriber on, the
/// two were a sixth of the chain's instructions. A field recorded twice appears twice; the
/// line's `spans` list, which reads the object back, keeps the last value, as before.
#[derive(Debug, Default, Clone, Copy)]
pub struct SpanJsonFields;

impl<'writer> FormatFields<'writer> for SpanJsonFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        writer.write_char('{')?;
        let mut visitor = MemberWriter::new(&mut writer, true);
        fields.record(&mut visitor);
        visitor.result?;
        writer.write_char('}')
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &Record<'_>,
    ) -> fmt::Result {
        let current = &mut current.fields;
        let first = match current.as_str() {
            "" | "{}" => {
                current.clear();
                current.push('{');
                true
            }
            _ if current.ends_with('}') => {
                current.pop();
                false
            }
            _ => return Err(fmt::Error),
        };
        let mut visitor = MemberWriter::new(current, first);
        fields.record(&mut visitor);
        let result = visitor.result;
        current.push('}');
        result
    }
}

/// Writes each visited field as a JSON member (`"name":value`), with a comma before every member
/// but the object's first.
struct MemberWriter<'a, W: fmt::Write> {
    out: &'a mut W,
    first: bool,
    result: fmt::Result,
}

impl<'a, W: fmt::Write> MemberWriter<'a, W> {
    fn new(out: &'a mut W, first: bool) -> Self {
        MemberWriter {
            out,
            first,
            result: Ok(()),
        }
    }

    /// Writes `"name":` then the value `write` writes.
    fn member(&mut self, name: &str, write: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if !std::mem::take(&mut self.first) {
                self.out.write_char(',')?;
            }
            json_string(self.out, name)?;
            self.out.write_char(':')?;
            write(self.out)
        })();
    }

    /// Writes a value as serde_json writes it.
    fn json(&mut self, name: &str, value: impl serde::Serialize) {
        self.member(name, |out| {
            let text = serde_json::to_string(&value).map_err(|_| fmt::Error)?;
            out.write_str(&text)
        });
    }
}

/// Writes `text` as a JSON string, escaped as serde_json escapes it.
fn json_string(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    let plain = text
        .bytes()
        .all(|byte| byte >= 0x20 && byte != b'"' && byte != b'\\');
    if plain {
        out.write_char('"')?;
        out.write_str(text)?;
        out.write_char('"')
    } else {
        out.write_str(&serde_json::to_string(text).map_err(|_| fmt::Error)?)
    }
}

impl<W: fmt::Write> Visit for MemberWriter<'_, W> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.json(field.name(), value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.json(field.name(), value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.json(field.name(), value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.json(field.name(), value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field.name(), |out| json_string(out, value));
    }

    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        self.json(field.name(), value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let name = field.name();
        // As `JsonFields`: the `log` crate's metadata is not a field; `r#type` is `type`.
        if name.starts_with("log.") {
            return;
        }
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.member(name, |out| json_string(out, &format!("{value:?}")));
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
/// `event_id`), written as [`SpanJsonFields`]. An RFC 3339 `timestamp` ([`Rfc3339`]); no ANSI
/// colours, no targets.
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
        .fmt_fields(SpanJsonFields)
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

    #[test]
    fn fields_recorded_later_are_added_to_the_span_and_the_last_value_wins() {
        let captured = CapturedLogs::default();
        {
            let _logs = captured.install("info");
            let empty = tracing::info_span!("empty", late = tracing::field::Empty);
            let _empty = empty.enter();
            empty.record("late", "first");
            let record = tracing::info_span!(
                "record",
                stage = "tim",
                correlation_id = tracing::field::Empty,
                event_id = tracing::field::Empty,
                message_id = "m-\"1\"",
            );
            let _record = record.enter();
            record.record("correlation_id", "corr-1");
            record.record("event_id", "ev-1");
            record.record("event_id", "ev-2");
            tracing::info!("handled");
        }
        let lines = captured.lines().expect("JSON lines");
        assert_eq!(lines.len(), 1, "{lines:?}");
        let spans = &lines[0]["spans"];
        assert_eq!(spans[0]["late"], "first");
        assert_eq!(spans[1]["stage"], "tim");
        assert_eq!(spans[1]["message_id"], "m-\"1\"");
        assert_eq!(spans[1]["correlation_id"], "corr-1");
        assert_eq!(spans[1]["event_id"], "ev-2");
    }

    /// The `spans` of the one line logged inside nested spans with every kind of field value,
    /// with the span fields written by `fields`.
    fn spans_written_by<N>(fields: N) -> serde_json::Value
    where
        N: for<'writer> tracing_subscriber::fmt::FormatFields<'writer> + Send + Sync + 'static,
    {
        let captured = CapturedLogs::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .flatten_event(true)
            .fmt_fields(fields)
            .with_writer(captured.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let outer = tracing::info_span!(
                "outer",
                text = "plain",
                escaped = "quote \" slash \\ newline \n tab \t nul \u{0} é 𝄞",
                display = %"shown",
                debug = ?Some("x"),
                signed = -3_i64,
                unsigned = 7_u64,
                wide = 1_u128 << 100,
                flag = true,
                float = 1.5_f64,
                nan = f64::NAN,
                r#type = ?"typed",
                late = tracing::field::Empty,
            );
            let _outer = outer.enter();
            outer.record("late", "recorded");
            let inner = tracing::info_span!("inner", correlation_id = tracing::field::Empty);
            let _inner = inner.enter();
            inner.record("correlation_id", "corr-1");
            inner.record("correlation_id", "corr-2");
            tracing::info!("inside");
        });
        let lines = captured.lines().expect("JSON lines");
        assert_eq!(lines.len(), 1, "{lines:?}");
        lines[0]["spans"].clone()
    }

    #[test]
    fn span_fields_are_what_tracing_subscribers_json_fields_writes() {
        let ours = spans_written_by(super::SpanJsonFields);
        let reference = spans_written_by(tracing_subscriber::fmt::format::JsonFields::new());
        assert_eq!(ours, reference);
        assert_eq!(ours[0]["late"], "recorded", "{ours}");
        assert_eq!(ours[1]["correlation_id"], "corr-2", "{ours}");
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
