//! Log lines captured in memory, to test what a handler logs in the functions' JSON format.

use std::io::Write;
use std::sync::{Arc, Mutex, Once};

use serde_json::Value;
use tracing::subscriber::DefaultGuard;
use tracing_subscriber::fmt::MakeWriter;

/// A log writer keeping every byte written; clones share the buffer.
///
/// ```ignore
/// let captured = CapturedLogs::default();
/// let _guard = captured.install("info");
/// // … run the handler on this thread (a current-thread tokio test) …
/// for line in captured.lines()? { /* each line is a JSON object */ }
/// ```
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Makes the functions' JSON log subscriber ([`crate::telemetry::logging::subscriber`]),
    /// writing here, this thread's default until the guard is dropped.
    ///
    /// Other tests of the same binary run on other threads with no subscriber, and `tracing`
    /// caches per call site whether anyone is interested in it. With a single registered
    /// subscriber, a call site first reached on such a thread is cached as "never" and then
    /// skipped here too, so lines or spans go missing at random. A process-wide default that
    /// records nothing (installed once) makes every call site ask the current thread's
    /// subscriber each time.
    pub fn install(&self, level: &str) -> DefaultGuard {
        static GLOBAL: Once = Once::new();
        GLOBAL.call_once(|| {
            let _ = tracing::subscriber::set_global_default(
                tracing::subscriber::NoSubscriber::default(),
            );
        });
        tracing::subscriber::set_default(crate::telemetry::logging::subscriber(level, self.clone()))
    }

    /// Every line written so far, as written.
    pub fn raw_lines(&self) -> Vec<String> {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Every line written so far, each parsed as JSON; the error names the first line that is
    /// not JSON.
    pub fn lines(&self) -> Result<Vec<Value>, String> {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|line| serde_json::from_str(line).map_err(|e| format!("{e}: {line}")))
            .collect()
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut bytes) = self.0.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
