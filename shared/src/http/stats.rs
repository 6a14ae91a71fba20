//! Call statistics of an HTTP client, drained into each invocation's metrics.

use std::sync::Mutex;
use std::time::Duration;

/// Calls, errors and latencies since the last drain.
#[derive(Debug, Default)]
pub struct CallStats {
    inner: Mutex<CallWindow>,
}

/// What [`CallStats::drain`] returns.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CallWindow {
    /// Latency of each call, in milliseconds.
    pub latencies_ms: Vec<f64>,
    /// Calls that failed (after retries).
    pub errors: u64,
    /// Calls whose credentials the service rejected (401/403, after reading the key again).
    pub auth_rejected: u64,
}

impl CallStats {
    /// Records one call.
    pub fn record(&self, latency: Duration, failed: bool) {
        if let Ok(mut window) = self.inner.lock() {
            // Bounded: EMF takes at most 100 values per metric, keep a little more.
            if window.latencies_ms.len() < 1000 {
                window.latencies_ms.push(latency.as_secs_f64() * 1000.0);
            }
            if failed {
                window.errors += 1;
            }
        }
    }

    /// Records a call whose credentials the service rejected.
    pub fn record_auth_rejected(&self) {
        if let Ok(mut window) = self.inner.lock() {
            window.auth_rejected += 1;
        }
    }

    /// Takes what was recorded since the last drain.
    pub fn drain(&self) -> CallWindow {
        self.inner
            .lock()
            .map(|mut window| std::mem::take(&mut *window))
            .unwrap_or_default()
    }
}
