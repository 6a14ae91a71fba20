//! A discrete-event model of the time from origin (the activity) to OSG (the message shown),
//! and of what the event source mappings cost, per event rate and batching setting.
//!
//! The CPP path: MSK → DEC → `cpp-enriched-events` → TIM → `relevant-events` → FRED (+ DES) →
//! `decided-events` → BCG (+ OSG). Each hop is an event source mapping in front of a function:
//!
//! - MSK: one poller per partition, each invoking with batches of up to `batch_size` records of
//!   its partition, gathered for at most `window` after the first; one batch in flight per
//!   partition (Kafka's order).
//! - SQS FIFO (`cpp-enriched-events`, `relevant-events`, `decided-events`): batches of at most
//!   10, no batching window (FIFO sources cannot have one); a batch takes messages in queue
//!   order, skipping every message group with a message in flight (group blocking); at most
//!   `max_concurrency` batches in flight.
//! - SQS standard (`relevant-unqualification-events`, `msq-inbound-*`): up to `batch_size`, a
//!   window of at least 1 s when the batch is above 10 (Lambda's rule), at most
//!   `max_concurrency` batches in flight. Not on the CPP path; priced and reported apart.
//!
//! A batch's handler time is `wait + records × cpu` (a function waits on DynamoDB, SQS and the
//! partners once per batch: its calls run concurrently), each wait drawn from a log-normal
//! around its mean (the spread of [`PartnerLatencies::spread`]) so that the 99th percentile
//! means something. `cpu` is each stage's in-memory handler time per record; `wait` is the
//! handler time per invocation measured against moto less that CPU (when the bench ran
//! `--aws`), else [`PartnerLatencies`]' AWS figures, plus the partner calls of the stage (DES for
//! FRED, OSG for BCG) from [`PartnerLatencies`]. A message sent at the end of a batch reaches the
//! next poller after `sqs_delivery_ms` (`msk_delivery_ms` from the producer to DEC).
//!
//! The model is deterministic for a seed. What it leaves out: cold starts (a new poller's first
//! invocation), Lambda's own scaling delay of FIFO pollers and of SQS pollers past five,
//! throttling, redeliveries, and the EPPM and MSQ paths.
//!
//! [`serial`] is the other schedule: the `--aws` runner's, one executor draining the queues in
//! a fixed order after each MSK batch. [`check`] configures it from a `--aws` run on the wall
//! clock (its handler, receive, settle and idle-check times) and compares it with that run's
//! stage timestamps, per hop and end to end: the check of the model's arithmetic that the
//! event source mappings above cannot get from a runner that has none of them.

use std::collections::{HashMap, HashSet, VecDeque};

use rewards_shared::stage::Stage;

pub use crate::rng::Rng;

mod hop;
pub use hop::{run_hop, HopRun, Message};

mod chain;
pub use chain::{simulate, Chain, FIFO_REQUEST};

mod model;
pub use model::{candidates, chain_from, point, run, sweep, Model, Point};

pub mod serial;
pub use serial::{simulate_serial, SerialRunner};

pub mod check;
pub use check::{check_mix, check_scenario, LatencyCheck};

/// The kind of an event source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// An MSK topic: one poller per partition.
    Msk {
        /// The topic's partitions.
        partitions: u32,
    },
    /// An SQS FIFO queue.
    Fifo,
    /// An SQS standard queue.
    Standard,
}

/// One event source mapping's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventSource {
    /// What it reads.
    pub kind: SourceKind,
    /// Most records per invocation.
    pub batch_size: usize,
    /// Batching window, ms (0 for none).
    pub window_ms: f64,
    /// Most concurrent invocations (SQS; an MSK source runs one per partition).
    pub max_concurrency: usize,
}

impl EventSource {
    /// The settings Lambda would accept: FIFO at most 10 and no window; standard above 10 only
    /// with a window of at least 1 s.
    pub fn is_valid(&self) -> bool {
        match self.kind {
            SourceKind::Fifo => self.batch_size <= 10 && self.window_ms == 0.0,
            SourceKind::Standard => self.batch_size <= 10 || self.window_ms >= 1000.0,
            SourceKind::Msk { .. } => true,
        }
    }
}

/// Partner and AWS latencies the model uses (means, ms). They stand for a function in the same
/// region as its dependencies; the stand-ins of the local run answer at once, so these figures
/// are configuration, not measurements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartnerLatencies {
    /// From the producer's write to the MSK poller's read.
    pub msk_delivery_ms: f64,
    /// From `SendMessageBatch`'s answer to the SQS poller's receive (a waiting long poll).
    pub sqs_delivery_ms: f64,
    /// One `SendMessageBatch`.
    pub sqs_send_ms: f64,
    /// One DynamoDB write (TIM's conditional `UpdateItem`).
    pub dynamodb_write_ms: f64,
    /// One DES request through its function URL (warm).
    pub des_ms: f64,
    /// One OSG `POST`.
    pub osg_ms: f64,
    /// Log-normal spread (σ of the log) of every wait.
    pub spread: f64,
}

/// The latencies used unless told otherwise.
pub const PARTNERS: PartnerLatencies = PartnerLatencies {
    msk_delivery_ms: 20.0,
    sqs_delivery_ms: 15.0,
    sqs_send_ms: 12.0,
    dynamodb_write_ms: 6.0,
    des_ms: 15.0,
    osg_ms: 40.0,
    spread: 0.5,
};

/// The settings `template.yaml` deploys by default (`tests/template` fails when the two differ):
/// the cheapest setting of the sweep whose p99 origin → OSG is at most 2 s at 10, 1,000 and
/// 10,000 events/s ([`sweep`], run of 2026-11-29: $3.50, $1.24 and $1.11 per million; p99 1.24,
/// 1.19 and 1.61 s). MSK batches of up to 1,000 records gathered for up to 1 s, FIFO batches of
/// 10 (their maximum, no window), standard batches of 100 with a 1 s window (off the CPP path),
/// and at most 50 concurrent invocations per SQS source: 10 cannot keep up with 10,000 events/s
/// on the FIFO hops (p99 over 5 s). The functions' reserved concurrency follows the last
/// (`template.yaml`'s `ReservedConcurrency` mapping).
pub const TEMPLATE: Settings = Settings {
    msk_batch: 1_000,
    msk_window_ms: 1000.0,
    fifo_batch: 10,
    standard_batch: 100,
    standard_window_ms: 1000.0,
    max_concurrency: 50,
};

/// Events the model runs per rate by default (ten minutes at 10 events/s is 6,000; three
/// seconds at 10,000 events/s is 30,000).
pub const MAX_EVENTS_PER_RATE: usize = 30_000;

/// Partitions of each MSK topic in the model.
pub const MSK_PARTITIONS: u32 = 12;

/// The rates the issue asks about, events/s.
pub const RATES: [f64; 3] = [10.0, 1_000.0, 10_000.0];

/// The p99 target, ms.
pub const P99_TARGET_MS: f64 = 2_000.0;

/// Batching settings of the event sources (the knobs of `template.yaml`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// `MskBatchSize`.
    pub msk_batch: usize,
    /// The MSK sources' batching window, ms.
    pub msk_window_ms: f64,
    /// The FIFO sources' batch size (≤10).
    pub fifo_batch: usize,
    /// The standard SQS sources' batch size.
    pub standard_batch: usize,
    /// The standard SQS sources' window, ms.
    pub standard_window_ms: f64,
    /// `SqsMaximumConcurrency`.
    pub max_concurrency: usize,
}

impl Settings {
    /// A short label for tables.
    pub fn label(&self) -> String {
        format!(
            "msk {}/{}ms fifo {} std {}/{}ms conc {}",
            self.msk_batch,
            self.msk_window_ms,
            self.fifo_batch,
            self.standard_batch,
            self.standard_window_ms,
            self.max_concurrency
        )
    }
}

/// One stage's handler time: `wait_ms` per invocation plus `cpu_ms` per record.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HandlerTime {
    /// Waiting on AWS and partners, per invocation (mean).
    pub wait_ms: f64,
    /// CPU per record.
    pub cpu_ms: f64,
}

/// What the model gives for one rate and setting.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    /// Events per second fed.
    pub rate: f64,
    /// Origin → OSG, ms.
    pub p50_ms: f64,
    /// Origin → OSG, ms.
    pub p99_ms: f64,
    /// Events that reached OSG.
    pub delivered: usize,
    /// Lambda invocations per event, DEC, TIM, FRED, DES, BCG.
    pub invocations_per_event: [f64; 5],
    /// SQS requests per event on the FIFO hops (sends, receives, deletes).
    pub fifo_requests_per_event: f64,
    /// Lambda GB-seconds per event.
    pub gb_seconds_per_event: f64,
    /// Cost per million events (Lambda + FIFO SQS + DynamoDB from the run).
    pub cost_per_million: f64,
}

pub use scenario_runner::stats::percentile;

/// Events simulated at `rate`: ten minutes' worth, at least 2,000 and at most `cap`.
pub fn events_at(rate: f64, cap: usize) -> usize {
    ((rate * 600.0) as usize).clamp(2_000.min(cap), cap.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handler(wait_ms: f64) -> HandlerTime {
        HandlerTime {
            wait_ms,
            cpu_ms: 0.0,
        }
    }

    fn arrivals(times: &[f64], groups: &[u64]) -> Vec<Message> {
        times
            .iter()
            .zip(groups)
            .map(|(at, group)| Message {
                at: *at,
                group: *group,
            })
            .collect()
    }

    #[test]
    fn a_window_holds_the_first_message_until_it_ends_or_the_batch_fills() {
        let source = EventSource {
            kind: SourceKind::Standard,
            batch_size: 3,
            window_ms: 1000.0,
            max_concurrency: 1,
        };
        let messages = arrivals(&[0.0, 10.0, 20.0, 30.0], &[1, 2, 3, 4]);
        let run = run_hop(&messages, &source, &handler(5.0), 0.0, &mut Rng::new(1));
        // The first three fill the batch at 20 ms; the fourth waits for its window.
        assert_eq!(run.batches, vec![3, 1]);
        assert!((run.done[0] - 25.0).abs() < 1e-9, "{:?}", run.done);
        assert!((run.done[3] - 1030.0 - 5.0).abs() < 1e-9, "{:?}", run.done);
    }

    #[test]
    fn a_fifo_group_waits_for_its_batch_in_flight() {
        let source = EventSource {
            kind: SourceKind::Fifo,
            batch_size: 1,
            window_ms: 0.0,
            max_concurrency: 4,
        };
        // Two messages of group 7 and one of group 8, at once.
        let messages = arrivals(&[0.0, 0.0, 0.0], &[7, 7, 8]);
        let run = run_hop(&messages, &source, &handler(100.0), 0.0, &mut Rng::new(1));
        assert!((run.done[0] - 100.0).abs() < 1e-9);
        assert!((run.done[2] - 100.0).abs() < 1e-9, "group 8 is not blocked");
        assert!((run.done[1] - 200.0).abs() < 1e-9, "{:?}", run.done);
    }

    #[test]
    fn invalid_settings_are_those_lambda_refuses() {
        let fifo = EventSource {
            kind: SourceKind::Fifo,
            batch_size: 10,
            window_ms: 0.0,
            max_concurrency: 10,
        };
        assert!(fifo.is_valid());
        assert!(!EventSource {
            batch_size: 11,
            ..fifo
        }
        .is_valid());
        assert!(!EventSource {
            window_ms: 100.0,
            ..fifo
        }
        .is_valid());
        let standard = EventSource {
            kind: SourceKind::Standard,
            batch_size: 100,
            window_ms: 500.0,
            ..fifo
        };
        assert!(!standard.is_valid());
        assert!(EventSource {
            window_ms: 1000.0,
            ..standard
        }
        .is_valid());
    }

    #[test]
    fn the_msk_window_sets_the_floor_at_low_rates() {
        let chain = Chain {
            stages: [
                (Stage::Dec, handler(10.0), 1.0),
                (Stage::Tim, handler(10.0), 1.0),
                (Stage::Fred, handler(10.0), 1.0),
                (Stage::Bcg, handler(10.0), 1.0),
            ],
            des_cpu_ms: 0.0,
            dynamodb_per_million: 0.0,
            standard_sqs_per_million: 0.0,
        };
        let partners = PartnerLatencies {
            spread: 0.0,
            ..PARTNERS
        };
        let slow = Settings {
            msk_window_ms: 1000.0,
            ..TEMPLATE
        };
        let fast = Settings {
            msk_window_ms: 0.0,
            ..TEMPLATE
        };
        let slow = simulate(&chain, &slow, &partners, 10.0, 2_000, 3);
        let fast = simulate(&chain, &fast, &partners, 10.0, 2_000, 3);
        assert!(slow.p50_ms > 1000.0, "{slow:?}");
        assert!(fast.p50_ms < 300.0, "{fast:?}");
        assert!(fast.invocations_per_event[0] > slow.invocations_per_event[0]);
        assert_eq!(fast.delivered, 2_000);
    }
}
