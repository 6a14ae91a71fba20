//! JSON logs through `tracing`.

use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber for a Lambda function: one JSON object per line, with the
/// fields of every enclosing span (the runtime's request id, the record's correlation and event
/// ids) and no ANSI colours or timestamps (CloudWatch adds its own). `level` is `LOG_LEVEL`
/// (`error`, `warn`, `info`, `debug`, `trace`, or a full filter directive).
pub fn init(level: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .flatten_event(true)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .try_init();
}
