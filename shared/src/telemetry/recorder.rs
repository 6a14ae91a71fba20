//! Per-invocation recording of outcomes and metrics.

use std::sync::{Arc, Mutex};

use chrono::Utc;

use super::metrics::MetricsBatch;
use crate::cache::CacheStats;
use crate::envelope::Latency;
use crate::http::stats::{CallStats, CallWindow};
use crate::ports::{Outcome, OutcomeSink};
use crate::stage::Stage;

/// Where EMF documents go.
#[derive(Clone)]
pub enum MetricsOut {
    /// Standard output: in Lambda, CloudWatch Logs turns EMF lines into metrics.
    Stdout,
    /// Nowhere (the local runner).
    Discard,
    /// Kept in memory (tests).
    Memory(Arc<Mutex<Vec<String>>>),
}

/// Reads a cache's hit and miss counters (e.g. `move || templates.stats()`).
pub type CacheCounters = Arc<dyn Fn() -> CacheStats + Send + Sync>;

/// A function's telemetry settings, built once per cold start.
///
/// Besides where outcomes and metrics go, it holds the instruments of the function's
/// downstream clients, set in `main` ([`Telemetry::with_call_stats`],
/// [`Telemetry::with_cache`]): each [`Recorder`] drains them into its invocation's metrics
/// when flushed, so handlers and the in-memory ports need nothing for it.
#[derive(Clone)]
pub struct Telemetry {
    stage: Stage,
    brand: String,
    namespace: String,
    outcomes: Arc<dyn OutcomeSink>,
    out: MetricsOut,
    calls: Vec<(&'static str, Arc<CallStats>)>,
    caches: Vec<CacheCounters>,
}

impl Telemetry {
    /// Telemetry of `stage` for `brand`, metrics in `namespace`.
    pub fn new(
        stage: Stage,
        brand: impl Into<String>,
        namespace: impl Into<String>,
        outcomes: Arc<dyn OutcomeSink>,
        out: MetricsOut,
    ) -> Self {
        Telemetry {
            stage,
            brand: brand.into(),
            namespace: namespace.into(),
            outcomes,
            out,
            calls: Vec::new(),
            caches: Vec::new(),
        }
    }

    /// Drains `stats` (an HTTP client's, e.g. `PphClient::stats()`) into each invocation's
    /// metrics: its latencies as `latency_metric` (e.g. `PphLatencyMs`), its failed calls as
    /// `DownstreamErrors`.
    pub fn with_call_stats(mut self, latency_metric: &'static str, stats: Arc<CallStats>) -> Self {
        self.calls.push((latency_metric, stats));
        self
    }

    /// Counts a cache's hits and misses during each invocation as `CacheHits` and
    /// `CacheMisses`; `counters` reads its running totals.
    pub fn with_cache(mut self, counters: impl Fn() -> CacheStats + Send + Sync + 'static) -> Self {
        self.caches.push(Arc::new(counters));
        self
    }

    /// Telemetry of a Lambda function: outcomes as log lines, metrics as EMF on stdout.
    pub fn for_lambda(stage: Stage, common: &crate::config::CommonConfig) -> Self {
        Telemetry::new(
            stage,
            common.brand.clone(),
            common.metrics_namespace.clone(),
            Arc::new(crate::ports::LogOutcomes),
            MetricsOut::Stdout,
        )
    }

    /// Telemetry for tests: outcomes to `outcomes`, metrics discarded.
    pub fn for_tests(stage: Stage, outcomes: Arc<dyn OutcomeSink>) -> Self {
        Telemetry::new(
            stage,
            "test",
            "RewardMessaging",
            outcomes,
            MetricsOut::Discard,
        )
    }

    /// The stage.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// A recorder for one invocation (it notes the caches' counters as they are now).
    pub fn recorder(&self) -> Recorder<'_> {
        Recorder {
            telemetry: self,
            metrics: Mutex::new(MetricsBatch::default()),
            caches_before: self.caches.iter().map(|counters| counters()).collect(),
        }
    }
}

/// The per-partner error metrics of a downstream client, by its latency metric: failed calls
/// (`PphErrors`, …, alarmed per partner) and calls whose credentials were rejected
/// (`PphAuthRejected`, …: a configuration fault, alarmed at once).
fn partner_metrics(latency_metric: &str) -> Option<(&'static str, &'static str)> {
    match latency_metric {
        "PphLatencyMs" => Some(("PphErrors", "PphAuthRejected")),
        "CslLatencyMs" => Some(("CslErrors", "CslAuthRejected")),
        "OsgLatencyMs" => Some(("OsgErrors", "OsgAuthRejected")),
        "DesLatencyMs" => Some(("DesErrors", "DesAuthRejected")),
        _ => None,
    }
}

/// Records one invocation's outcomes and metrics; call [`Recorder::flush`] at the end.
pub struct Recorder<'a> {
    telemetry: &'a Telemetry,
    metrics: Mutex<MetricsBatch>,
    caches_before: Vec<CacheStats>,
}

impl Recorder<'_> {
    /// The stage recording.
    pub fn stage(&self) -> Stage {
        self.telemetry.stage
    }

    fn with_metrics(&self, update: impl FnOnce(&mut MetricsBatch)) {
        if let Ok(mut metrics) = self.metrics.lock() {
            update(&mut metrics);
        }
    }

    /// Records an outcome and counts it.
    pub fn outcome(&self, outcome: Outcome) {
        self.with_metrics(|metrics| match &outcome {
            Outcome::Delivered { via, .. } => {
                metrics.count("Delivered", 1.0);
                if *via == Stage::Msq {
                    metrics.count("Resent", 1.0);
                }
            }
            Outcome::Queued { .. } => metrics.count("Queued", 1.0),
            Outcome::Deleted { .. } => metrics.count("Deleted", 1.0),
            Outcome::Dropped { reason, .. } => metrics.count_reason("Dropped", reason.as_str()),
            Outcome::DeadLettered { reason, .. } => {
                // Low cardinality: the reason's kind, not its detail.
                let kind = reason.split(':').next().unwrap_or(reason.as_str());
                metrics.count_reason("DeadLettered", kind);
            }
        });
        self.telemetry.outcomes.record(outcome);
    }

    /// Adds `n` to a count metric.
    pub fn count(&self, name: &'static str, n: f64) {
        if n != 0.0 {
            self.with_metrics(|metrics| metrics.count(name, n));
        }
    }

    /// Records the latencies of one event at this stage.
    pub fn latency(&self, latency: Latency) {
        self.with_metrics(|metrics| {
            if let Some(ms) = latency.from_origin_ms {
                metrics.value("LatencyFromOriginMs", ms as f64);
            }
            if let Some(ms) = latency.from_previous_ms {
                metrics.value("LatencyFromPreviousStageMs", ms as f64);
            }
        });
    }

    /// Records a downstream service's calls (`latency_metric` like `PphLatencyMs`).
    pub fn calls(&self, latency_metric: &'static str, window: CallWindow) {
        self.with_metrics(|metrics| {
            for ms in window.latencies_ms {
                metrics.value(latency_metric, ms);
            }
            if window.errors > 0 {
                metrics.count("DownstreamErrors", window.errors as f64);
            }
            if let Some((errors, auth_rejected)) = partner_metrics(latency_metric) {
                if window.errors > 0 {
                    metrics.count(errors, window.errors as f64);
                }
                if window.auth_rejected > 0 {
                    metrics.count(auth_rejected, window.auth_rejected as f64);
                }
            }
        });
    }

    /// Records cache hits and misses since `before`.
    pub fn cache(&self, before: CacheStats, after: CacheStats) {
        self.count("CacheHits", after.hits.saturating_sub(before.hits) as f64);
        self.count(
            "CacheMisses",
            after.misses.saturating_sub(before.misses) as f64,
        );
    }

    /// Writes the invocation's metrics as EMF documents, after draining the downstream call
    /// statistics and cache counters the telemetry holds.
    pub fn flush(&self) {
        let telemetry = self.telemetry;
        for (latency_metric, stats) in &telemetry.calls {
            self.calls(latency_metric, stats.drain());
        }
        for (counters, before) in telemetry.caches.iter().zip(&self.caches_before) {
            self.cache(*before, counters());
        }
        let Ok(mut metrics) = self.metrics.lock() else {
            return;
        };
        let batch = std::mem::take(&mut *metrics);
        if batch.is_empty() {
            return;
        }
        let documents = batch.to_emf(
            &telemetry.namespace,
            telemetry.stage.as_str(),
            &telemetry.brand,
            Utc::now().timestamp_millis(),
        );
        match &telemetry.out {
            MetricsOut::Stdout => {
                for document in documents {
                    println!("{document}");
                }
            }
            MetricsOut::Discard => {}
            MetricsOut::Memory(kept) => {
                if let Ok(mut kept) = kept.lock() {
                    kept.extend(documents);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use serde_json::Value;

    use super::*;
    use crate::ports::MemoryOutcomes;

    #[test]
    fn flush_drains_call_stats_and_counts_cache_use_per_invocation() {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let stats = Arc::new(CallStats::default());
        let hits = Arc::new(AtomicU64::new(5));
        let counter = Arc::clone(&hits);
        let telemetry = Telemetry::new(
            Stage::Bcg,
            "skybet",
            "RewardMessaging",
            Arc::new(MemoryOutcomes::new()),
            MetricsOut::Memory(Arc::clone(&kept)),
        )
        .with_call_stats("OsgLatencyMs", Arc::clone(&stats))
        .with_cache(move || CacheStats {
            hits: counter.load(Ordering::SeqCst),
            misses: 1,
        });

        let recorder = telemetry.recorder();
        stats.record(Duration::from_millis(12), false);
        stats.record(Duration::from_millis(30), true);
        hits.fetch_add(2, Ordering::SeqCst);
        recorder.flush();
        let documents: Vec<Value> = kept
            .lock()
            .expect("kept")
            .iter()
            .map(|d| serde_json::from_str(d).expect("json"))
            .collect();
        assert_eq!(documents.len(), 1);
        let main = &documents[0];
        assert_eq!(main["OsgLatencyMs"].as_array().map(Vec::len), Some(2));
        assert_eq!(main["DownstreamErrors"], 1.0);
        assert_eq!(main["OsgErrors"], 1.0, "per partner, for its alarm");
        assert!(main.get("OsgAuthRejected").is_none());
        assert_eq!(main["CacheHits"], 2.0, "only this invocation's hits");
        assert!(main.get("CacheMisses").is_none(), "no new miss, no metric");

        // A rejected key is counted apart.
        kept.lock().expect("kept").clear();
        let recorder = telemetry.recorder();
        stats.record_auth_rejected();
        stats.record(Duration::from_millis(5), true);
        recorder.flush();
        let document: Value = serde_json::from_str(&kept.lock().expect("kept")[0]).expect("json");
        assert_eq!(document["OsgAuthRejected"], 1.0);

        // The next invocation starts from what the last one drained.
        kept.lock().expect("kept").clear();
        telemetry.recorder().flush();
        assert!(kept.lock().expect("kept").is_empty());
    }
}
