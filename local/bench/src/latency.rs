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

use std::collections::{HashMap, HashSet, VecDeque};

use rewards_shared::stage::Stage;

pub use crate::rng::Rng;

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

/// The template's current settings (before any recommendation): MSK and standard SQS batches
/// of 100 with a 1 s window, FIFO batches of 10, at most 10 concurrent SQS invocations.
pub const CURRENT: Settings = Settings {
    msk_batch: 100,
    msk_window_ms: 1000.0,
    fifo_batch: 10,
    standard_batch: 100,
    standard_window_ms: 1000.0,
    max_concurrency: 10,
};

/// The defaults this model recommends for `template.yaml`: the cheapest setting of the sweep
/// whose p99 origin → OSG is at most 2 s at 10, 1,000 and 10,000 events/s ([`sweep`], run of
/// 2026-11-29: $3.50, $1.24 and $1.11 per million; p99 1.24, 1.19 and 1.61 s). MSK batches of up
/// to 1,000 records gathered for up to 1 s, FIFO batches of 10 (their maximum), standard queues
/// unchanged, and at most 50 concurrent invocations per SQS source: 10 cannot keep up with
/// 10,000 events/s on the FIFO hops (p99 over 5 s).
pub const RECOMMENDED: Settings = Settings {
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

/// A message at a hop: when it arrived and its group (FIFO group or MSK partition key).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Message {
    /// Arrival, ms.
    pub at: f64,
    /// Group key.
    pub group: u64,
}

/// What one hop did: each message's completion time (the end of its batch) and the batches.
#[derive(Debug, Clone, Default)]
pub struct HopRun {
    /// Per message, in input order.
    pub done: Vec<f64>,
    /// Batch sizes.
    pub batches: Vec<usize>,
    /// Per message, the index of its batch in `batches`.
    pub batch_of: Vec<usize>,
    /// Handler time, summed, ms.
    pub busy_ms: f64,
}

/// Runs one hop: `messages` sorted by arrival.
pub fn run_hop(
    messages: &[Message],
    source: &EventSource,
    handler: &HandlerTime,
    spread: f64,
    rng: &mut Rng,
) -> HopRun {
    match source.kind {
        SourceKind::Msk { partitions } => {
            let partitions = u64::from(partitions.max(1));
            let mut run = HopRun {
                done: vec![0.0; messages.len()],
                batch_of: vec![0; messages.len()],
                ..HopRun::default()
            };
            for partition in 0..partitions {
                let indices: Vec<usize> = (0..messages.len())
                    .filter(|i| messages[*i].group % partitions == partition)
                    .collect();
                let part: Vec<Message> = indices.iter().map(|i| messages[*i]).collect();
                let single = EventSource {
                    kind: SourceKind::Standard,
                    max_concurrency: 1,
                    ..*source
                };
                let sub = run_queue(&part, &single, false, handler, spread, rng);
                let offset = run.batches.len();
                for (k, i) in indices.iter().enumerate() {
                    run.done[*i] = sub.done[k];
                    run.batch_of[*i] = offset + sub.batch_of[k];
                }
                run.batches.extend(sub.batches);
                run.busy_ms += sub.busy_ms;
            }
            run
        }
        SourceKind::Fifo => run_queue(messages, source, true, handler, spread, rng),
        SourceKind::Standard => run_queue(messages, source, false, handler, spread, rng),
    }
}

/// How far into the queue a FIFO poller looks for a group that is free.
const FIFO_SCAN: usize = 2_000;

fn run_queue(
    messages: &[Message],
    source: &EventSource,
    fifo: bool,
    handler: &HandlerTime,
    spread: f64,
    rng: &mut Rng,
) -> HopRun {
    let mut run = HopRun {
        done: vec![0.0; messages.len()],
        batch_of: vec![0; messages.len()],
        ..HopRun::default()
    };
    // FIFO sources, and any source without a window, take at most ten (one `ReceiveMessage`).
    let limit = if fifo || source.window_ms <= 0.0 {
        source.batch_size.clamp(1, 10)
    } else {
        source.batch_size.max(1)
    };
    let mut free = vec![0.0f64; source.max_concurrency.max(1)];
    let mut group_free: HashMap<u64, f64> = HashMap::new();
    let mut unclaimed: VecDeque<usize> = (0..messages.len()).collect();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut blocked: HashSet<u64> = HashSet::new();
    while !unclaimed.is_empty() {
        let (worker, t) =
            free.iter()
                .copied()
                .enumerate()
                .fold(
                    (0, f64::INFINITY),
                    |best, (i, at)| if at < best.1 { (i, at) } else { best },
                );
        let eligible = |i: usize, group_free: &HashMap<u64, f64>| {
            let m = messages[i];
            if fifo {
                m.at.max(group_free.get(&m.group).copied().unwrap_or(0.0))
            } else {
                m.at
            }
        };
        // The first moment some message can be taken.
        let start = if fifo {
            let mut earliest = f64::INFINITY;
            seen.clear();
            for &i in unclaimed.iter().take(FIFO_SCAN) {
                if messages[i].at >= earliest {
                    // Sorted by arrival: nothing further on is eligible sooner.
                    break;
                }
                if !seen.insert(messages[i].group) {
                    continue;
                }
                earliest = earliest.min(eligible(i, &group_free));
                if earliest <= t {
                    break;
                }
            }
            earliest.max(t)
        } else {
            messages[unclaimed[0]].at.max(t)
        };
        let close = if !fifo && source.window_ms > 0.0 {
            // Gather until the window ends or the batch is full.
            let deadline = start + source.window_ms;
            match unclaimed.get(limit - 1) {
                Some(&i) if messages[i].at <= deadline => messages[i].at.max(start),
                _ => deadline,
            }
        } else {
            start
        };
        let mut batch: Vec<usize> = Vec::with_capacity(limit);
        blocked.clear();
        let mut position = 0;
        while position < unclaimed.len() && batch.len() < limit {
            let i = unclaimed[position];
            if messages[i].at > close {
                break;
            }
            let group = messages[i].group;
            let takeable =
                !fifo || (!blocked.contains(&group) && eligible(i, &group_free) <= close);
            if takeable {
                batch.push(i);
                let _ = unclaimed.remove(position);
            } else {
                if fifo {
                    blocked.insert(group);
                }
                position += 1;
                if fifo && position >= FIFO_SCAN {
                    break;
                }
            }
        }
        if batch.is_empty() {
            // Nothing could be taken at `close` (FIFO groups busy): wait for the next one free.
            free[worker] = close + 1.0;
            continue;
        }
        let wait = rng.lognormal(handler.wait_ms, spread);
        let busy = wait + handler.cpu_ms * batch.len() as f64;
        let end = close + busy;
        for &i in &batch {
            run.done[i] = end;
            run.batch_of[i] = run.batches.len();
            if fifo {
                group_free.insert(messages[i].group, end);
            }
        }
        run.batches.push(batch.len());
        run.busy_ms += busy;
        free[worker] = end;
    }
    run
}

/// The CPP path's handler times and pass-on shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// DEC, TIM, FRED, BCG: handler time and the share of its records that go on.
    pub stages: [(Stage, HandlerTime, f64); 4],
    /// DES's CPU per event it decides, ms (FRED waits for it within [`PartnerLatencies::des_ms`]).
    pub des_cpu_ms: f64,
    /// DynamoDB cost per million events (from the run against moto, or TIM's one write per event).
    pub dynamodb_per_million: f64,
    /// Requests to the standard queues (off the modelled path) per million events, in dollars.
    pub standard_sqs_per_million: f64,
}

/// The SQS FIFO price per request.
pub const FIFO_REQUEST: f64 = 0.50 / 1e6;

/// Runs the chain at `rate` events/s for `events` events.
pub fn simulate(
    chain: &Chain,
    settings: &Settings,
    partners: &PartnerLatencies,
    rate: f64,
    events: usize,
    seed: u64,
) -> Outcome {
    let mut rng = Rng::new(seed ^ rate.to_bits());
    let mut t = 0.0;
    let origins: Vec<Message> = (0..events)
        .map(|_| {
            t += rng.exponential(1000.0 / rate);
            Message {
                at: t,
                // The TIM key's hash: 50,000 customer-promotion attempts in play.
                group: rng.next_u64() % 50_000,
            }
        })
        .collect();
    let sources = [
        EventSource {
            kind: SourceKind::Msk {
                partitions: MSK_PARTITIONS,
            },
            batch_size: settings.msk_batch,
            window_ms: settings.msk_window_ms,
            max_concurrency: MSK_PARTITIONS as usize,
        },
        EventSource {
            kind: SourceKind::Fifo,
            batch_size: settings.fifo_batch,
            window_ms: 0.0,
            max_concurrency: settings.max_concurrency,
        },
        EventSource {
            kind: SourceKind::Fifo,
            batch_size: settings.fifo_batch,
            window_ms: 0.0,
            max_concurrency: settings.max_concurrency,
        },
        EventSource {
            kind: SourceKind::Fifo,
            batch_size: settings.fifo_batch,
            window_ms: 0.0,
            max_concurrency: settings.max_concurrency,
        },
    ];
    // (origin index, arrival) of the messages at the current hop.
    let mut current: Vec<(usize, Message)> = origins
        .iter()
        .enumerate()
        .map(|(i, m)| {
            (
                i,
                Message {
                    at: m.at + partners.msk_delivery_ms,
                    group: m.group,
                },
            )
        })
        .collect();
    let mut outcome = Outcome {
        rate,
        ..Outcome::default()
    };
    let mut busy_ms = 0.0;
    let mut fifo_requests = 0.0;
    for (hop, ((stage, handler, pass), source)) in chain.stages.iter().zip(&sources).enumerate() {
        let mut handler = *handler;
        if *stage == Stage::Fred {
            handler.wait_ms += partners.des_ms;
        }
        if *stage == Stage::Bcg {
            handler.wait_ms += partners.osg_ms;
        }
        let messages: Vec<Message> = current.iter().map(|(_, m)| *m).collect();
        let run = run_hop(&messages, source, &handler, partners.spread, &mut rng);
        let invocations = run.batches.len() as f64;
        busy_ms += run.busy_ms;
        let slot = match stage {
            Stage::Dec => 0,
            Stage::Tim => 1,
            Stage::Fred => 2,
            _ => 4,
        };
        outcome.invocations_per_event[slot] = invocations / events as f64;
        if *stage == Stage::Fred {
            // One DES request per FRED batch; DES's own time is billed too.
            outcome.invocations_per_event[3] = invocations / events as f64;
            busy_ms += invocations + chain.des_cpu_ms * messages.len() as f64;
        }
        if source.kind == SourceKind::Fifo {
            // Receive and delete: one call per ten messages of each batch.
            let calls: f64 = run.batches.iter().map(|n| n.div_ceil(10) as f64).sum();
            fifo_requests += 2.0 * calls;
        }
        // Who goes on: a seeded share of each batch's records.
        let mut next: Vec<(usize, Message)> = Vec::new();
        let mut out_per_batch = vec![0usize; run.batches.len()];
        for (k, (origin, m)) in current.iter().enumerate() {
            if rng.unit() <= *pass {
                out_per_batch[run.batch_of[k]] += 1;
                next.push((
                    *origin,
                    Message {
                        at: run.done[k] + partners.sqs_delivery_ms,
                        group: m.group,
                    },
                ));
            }
        }
        if hop + 1 < sources.len() && sources[hop + 1].kind == SourceKind::Fifo {
            // Sends: one `SendMessageBatch` per ten messages a batch sends on.
            fifo_requests += out_per_batch
                .iter()
                .map(|n| n.div_ceil(10) as f64)
                .sum::<f64>();
        }
        if hop + 1 == sources.len() {
            let mut latencies: Vec<f64> = next
                .iter()
                .map(|(origin, m)| m.at - partners.sqs_delivery_ms - origins[*origin].at)
                .collect();
            latencies.sort_by(f64::total_cmp);
            outcome.delivered = latencies.len();
            outcome.p50_ms = percentile(&latencies, 0.50);
            outcome.p99_ms = percentile(&latencies, 0.99);
        }
        next.sort_by(|a, b| a.1.at.total_cmp(&b.1.at));
        current = next;
    }
    outcome.fifo_requests_per_event = fifo_requests / events as f64;
    outcome.gb_seconds_per_event = busy_ms / 1000.0 * super::cost::MEMORY_GB / events as f64;
    let prices = super::cost::PRICES;
    let requests: f64 = outcome.invocations_per_event.iter().sum();
    outcome.cost_per_million = (requests * prices.lambda_request
        + outcome.gb_seconds_per_event * prices.lambda_arm64_gb_second
        + outcome.fifo_requests_per_event * FIFO_REQUEST)
        * 1e6
        + chain.dynamodb_per_million
        + chain.standard_sqs_per_million;
    outcome
}

/// The value at `q` of sorted `values` (0 when empty).
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let rank = ((values.len() as f64 * q).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// Events simulated at `rate`: ten minutes' worth, at least 2,000 and at most `cap`.
pub fn events_at(rate: f64, cap: usize) -> usize {
    ((rate * 600.0) as usize).clamp(2_000.min(cap), cap.max(1))
}

/// One setting at every rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The setting.
    pub settings: Settings,
    /// Per rate in [`RATES`].
    pub outcomes: Vec<Outcome>,
}

impl Point {
    /// The worst p99 over the rates.
    pub fn worst_p99(&self) -> f64 {
        self.outcomes.iter().map(|o| o.p99_ms).fold(0.0, f64::max)
    }

    /// The mean cost per million over the rates.
    pub fn mean_cost(&self) -> f64 {
        self.outcomes
            .iter()
            .map(|o| o.cost_per_million)
            .sum::<f64>()
            / self.outcomes.len().max(1) as f64
    }
}

/// Runs a setting at every rate.
pub fn point(
    chain: &Chain,
    settings: Settings,
    partners: &PartnerLatencies,
    cap: usize,
    seed: u64,
) -> Point {
    Point {
        settings,
        outcomes: RATES
            .iter()
            .map(|rate| {
                simulate(
                    chain,
                    &settings,
                    partners,
                    *rate,
                    events_at(*rate, cap),
                    seed,
                )
            })
            .collect(),
    }
}

/// The settings tried: MSK batch and window, FIFO batch, concurrency (the standard queues are
/// off the CPP path and keep their batch of 100 with a 1 s window).
pub fn candidates() -> Vec<Settings> {
    let mut out = Vec::new();
    for msk_batch in [100, 500, 1_000] {
        for msk_window_ms in [0.0, 100.0, 250.0, 500.0, 1_000.0] {
            for fifo_batch in [1, 10] {
                for max_concurrency in [10, 50] {
                    out.push(Settings {
                        msk_batch,
                        msk_window_ms,
                        fifo_batch,
                        max_concurrency,
                        ..CURRENT
                    });
                }
            }
        }
    }
    out
}

/// Every candidate at every rate, and the cheapest whose p99 meets the target at every rate.
pub fn sweep(
    chain: &Chain,
    partners: &PartnerLatencies,
    cap: usize,
    seed: u64,
) -> (Vec<Point>, Option<usize>) {
    let points: Vec<Point> = candidates()
        .into_iter()
        .map(|settings| point(chain, settings, partners, cap, seed))
        .collect();
    let best = points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.worst_p99() <= P99_TARGET_MS)
        .min_by(|a, b| a.1.mean_cost().total_cmp(&b.1.mean_cost()))
        .map(|(i, _)| i);
    (points, best)
}

/// The model's inputs from the in-memory run (CPU per record, shares passed on) and, when the
/// bench ran `--aws`, the run against moto (wait per invocation, DynamoDB and standard-queue
/// cost).
pub fn chain_from(
    memory: &super::throughput::Throughput,
    aws: Option<&super::aws_calls::AwsCalls>,
    cost: Option<&super::cost::Cost>,
    partners: &PartnerLatencies,
) -> Chain {
    let stage = |stage: Stage, default_wait_ms: f64| {
        let tally = memory.tally.stages.get(&stage);
        let records = tally.map_or(0, |t| t.records).max(1) as f64;
        let mut cpu_ms = tally.map_or(0.0, |t| t.elapsed.as_secs_f64() * 1e3) / records;
        if stage == Stage::Fred {
            cpu_ms -= memory.tally.des_requests as f64 * memory.des_micros_per_call / 1e3 / records;
        }
        let cpu_ms = cpu_ms.max(0.0);
        let pass = tally.map_or(1.0, |t| (t.emitted as f64 / records).min(1.0));
        let wait_ms = aws
            .and_then(|aws| aws.tally.stages.get(&stage))
            .filter(|t| t.invocations > 0)
            .map(|t| {
                let per_invocation = t.elapsed.as_secs_f64() * 1e3 / t.invocations as f64;
                let records = t.records as f64 / t.invocations as f64;
                (per_invocation - cpu_ms * records).max(0.0)
            })
            .unwrap_or(default_wait_ms);
        (stage, HandlerTime { wait_ms, cpu_ms }, pass)
    };
    let stages = [
        stage(Stage::Dec, partners.sqs_send_ms),
        stage(
            Stage::Tim,
            partners.dynamodb_write_ms + partners.sqs_send_ms,
        ),
        stage(Stage::Fred, partners.sqs_send_ms),
        (stage(Stage::Bcg, 0.0).0, stage(Stage::Bcg, 0.0).1, 1.0),
    ];
    let des_events = memory.des_events_per_call.max(1.0);
    Chain {
        stages,
        des_cpu_ms: memory.des_micros_per_call / des_events / 1e3,
        dynamodb_per_million: cost.map_or(
            // TIM's one write unit per event it handles, without a run against moto.
            stages[0].2 * super::cost::PRICES.dynamodb_write_unit * 1e6,
            |c| c.dynamodb,
        ),
        standard_sqs_per_million: cost.map_or(0.0, |c| c.sqs_standard),
    }
}

/// What the model reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Its inputs.
    pub chain: Chain,
    /// The partner latencies used.
    pub partners: PartnerLatencies,
    /// The recommended settings at every rate.
    pub recommended: Point,
    /// The template's current settings at every rate.
    pub current: Point,
    /// Every candidate (the cost/latency curve).
    pub curve: Vec<Point>,
    /// The cheapest candidate meeting the p99 target at every rate.
    pub best: Option<usize>,
}

/// Runs the model: the recommended and current settings, and the sweep; at most `cap` events
/// per rate.
pub fn run(chain: Chain, partners: PartnerLatencies, cap: usize, seed: u64) -> Model {
    let (curve, best) = sweep(&chain, &partners, cap, seed);
    Model {
        recommended: point(&chain, RECOMMENDED, &partners, cap, seed),
        current: point(&chain, CURRENT, &partners, cap, seed),
        chain,
        partners,
        curve,
        best,
    }
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
            ..CURRENT
        };
        let fast = Settings {
            msk_window_ms: 0.0,
            ..CURRENT
        };
        let slow = simulate(&chain, &slow, &partners, 10.0, 2_000, 3);
        let fast = simulate(&chain, &fast, &partners, 10.0, 2_000, 3);
        assert!(slow.p50_ms > 1000.0, "{slow:?}");
        assert!(fast.p50_ms < 300.0, "{fast:?}");
        assert!(fast.invocations_per_event[0] > slow.invocations_per_event[0]);
        assert_eq!(fast.delivered, 2_000);
    }
}
