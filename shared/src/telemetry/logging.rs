//! JSON logs through `tracing`.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

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
/// `event_id`). No ANSI colours, no timestamps (CloudWatch adds its own), no targets.
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
        .without_time()
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
        assert!(line.get("timestamp").is_none());
        assert_eq!(line["spans"][0]["name"], "Lambda runtime invoke");
        assert_eq!(line["spans"][0]["requestId"], "req-1");
        assert_eq!(line["spans"][1]["stage"], "fred");
        assert_eq!(line["spans"][1]["correlation_id"], "corr-1");
        assert_eq!(line["spans"][1]["event_id"], "ev-1");
    }
}
