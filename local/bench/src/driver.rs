//! Feeds a [`Mix`] through a [`Pipeline`] and keeps the account the benchmarks read: per stage
//! the invocations, records and handler time, the outcomes, and per queue the batches Lambda's
//! event source mapping would have received.
//!
//! The queues are wrapped in a [`Recording`] transport, which also says which stage is running
//! (a [`CurrentStage`] the AWS call counter reads: the runner runs one invocation at a time), and
//! keeps a sample of the events each stage received (for the decode and DES measurements).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use rewards_shared::ports::{Destination, ManualClock};
use rewards_shared::stage::Stage;

use super::mix::Input;
use scenario_runner::backend::{Backend, BatchReceipt, MemoryBackend, MemoryTransport, Transport};
use scenario_runner::pipeline::{Pipeline, CPP_TOPIC, EPPM_TOPIC, ONLINE_TOPIC};
use scenario_runner::queues::{consumer, Queued, SQS_CALL_ENTRIES};
use scenario_runner::report::{outcome_kind, Trace};
use scenario_runner::scenario::{Scenario, ScenarioError};

/// Kafka records per DEC and MSQ invocation: `MskBatchSize`'s default in `template.yaml`.
pub const MSK_BATCH_SIZE: usize = 100;

/// SQS events kept per queue as samples.
pub const SAMPLE_EVENTS: usize = 64;

/// The stage whose handler is running (set before each invocation).
#[derive(Debug, Clone)]
pub struct CurrentStage(Arc<Mutex<Stage>>);

impl Default for CurrentStage {
    fn default() -> Self {
        CurrentStage(Arc::new(Mutex::new(Stage::Dec)))
    }
}

impl CurrentStage {
    /// The running stage.
    pub fn get(&self) -> Stage {
        self.0.lock().map_or(Stage::Dec, |stage| *stage)
    }

    /// Sets the running stage.
    pub fn set(&self, stage: Stage) {
        if let Ok(mut current) = self.0.lock() {
            *current = stage;
        }
    }
}

/// What the event source mappings delivered from one queue.
#[derive(Debug, Clone, Default)]
pub struct QueueTally {
    /// Batches received (Lambda invocations).
    pub batches: u64,
    /// `ReceiveMessage` calls that gathered them (at most ten messages each).
    pub receive_calls: u64,
    /// `DeleteMessageBatch` calls that deleted them (at most ten entries each).
    pub delete_calls: u64,
    /// Messages received.
    pub messages: u64,
    /// Bytes of the bodies received.
    pub body_bytes: u64,
}

/// What a [`Recording`] transport saw.
#[derive(Debug, Default)]
pub struct TransportLog {
    /// Per queue.
    pub queues: BTreeMap<Destination, QueueTally>,
    /// The first events each queue delivered.
    pub samples: BTreeMap<Destination, Vec<SqsEvent>>,
}

/// A transport that records what it delivers and says which stage runs.
pub struct Recording<Q> {
    inner: Q,
    current: CurrentStage,
    log: Arc<Mutex<TransportLog>>,
    samples: usize,
}

impl<Q> Recording<Q> {
    /// Records what `inner` delivers; sets `current` to the consuming stage of each batch.
    pub fn new(inner: Q, current: CurrentStage) -> Self {
        Recording {
            inner,
            current,
            log: Arc::default(),
            samples: SAMPLE_EVENTS,
        }
    }

    /// Keeps up to `samples` events per queue instead of the default.
    pub fn with_samples(mut self, samples: usize) -> Self {
        self.samples = samples;
        self
    }

    /// The log, shared.
    pub fn log(&self) -> Arc<Mutex<TransportLog>> {
        Arc::clone(&self.log)
    }
}

impl<Q: Transport> Transport for Recording<Q> {
    type Receipt = Q::Receipt;

    async fn collect(&mut self, now: chrono::DateTime<chrono::Utc>) {
        self.inner.collect(now).await;
    }

    async fn receive(
        &mut self,
        destination: Destination,
    ) -> Option<(SqsEvent, BatchReceipt<Q::Receipt>)> {
        let received = self.inner.receive(destination).await;
        if let Some((event, _)) = &received {
            self.current.set(consumer(destination));
            if let Ok(mut log) = self.log.lock() {
                let tally = log.queues.entry(destination).or_default();
                let calls = event.records.len().div_ceil(SQS_CALL_ENTRIES) as u64;
                tally.batches += 1;
                tally.receive_calls += calls;
                tally.delete_calls += calls;
                tally.messages += event.records.len() as u64;
                tally.body_bytes += event
                    .records
                    .iter()
                    .map(|m| m.body.as_ref().map_or(0, String::len) as u64)
                    .sum::<u64>();
                let samples = log.samples.entry(destination).or_default();
                if samples.len() < self.samples {
                    samples.push(event.clone());
                }
            }
        }
        received
    }

    async fn settle(
        &mut self,
        batch: BatchReceipt<Q::Receipt>,
        response: &SqsBatchResponse,
    ) -> Vec<Queued> {
        self.inner.settle(batch, response).await
    }

    async fn is_idle(&mut self) -> bool {
        self.inner.is_idle().await
    }
}

/// One stage's invocations.
#[derive(Debug, Clone, Default)]
pub struct StageTally {
    /// Handler invocations.
    pub invocations: u64,
    /// Records handled.
    pub records: u64,
    /// Handler time, summed.
    pub elapsed: Duration,
    /// Handler time rounded up to whole milliseconds per invocation (Lambda's billed duration).
    pub billed_millis: u64,
    /// Records reported for redelivery.
    pub failures: u64,
    /// Messages it published.
    pub emitted: u64,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunTally {
    /// Kafka records fed.
    pub records_fed: u64,
    /// Per stage.
    pub stages: BTreeMap<Stage, StageTally>,
    /// Outcomes by kind (`delivered via bcg`, `dropped at tim: duplicate`, …).
    pub outcomes: BTreeMap<String, u64>,
    /// Requests FRED sent DES (DES's invocations; one per FRED batch that asked).
    pub des_requests: u64,
    /// Every trace entry, in order, when `Some` (the latency check reads each invocation).
    pub trace: Option<Vec<Trace>>,
}

impl RunTally {
    fn add(&mut self, trace: Vec<Trace>) {
        if let Some(kept) = &mut self.trace {
            kept.extend(trace.iter().cloned());
        }
        for entry in trace {
            match entry {
                Trace::Invocation {
                    stage,
                    records,
                    elapsed,
                    failures,
                    emitted,
                    ..
                } => {
                    let tally = self.stages.entry(stage).or_default();
                    tally.invocations += 1;
                    tally.records += records as u64;
                    tally.elapsed += elapsed;
                    tally.billed_millis += elapsed.as_nanos().div_ceil(1_000_000) as u64;
                    tally.failures += failures as u64;
                    tally.emitted += emitted.values().sum::<usize>() as u64;
                }
                Trace::Outcome(outcome) => {
                    *self.outcomes.entry(outcome_kind(&outcome)).or_default() += 1;
                }
                Trace::Step { .. } => {}
            }
        }
    }

    /// Outcomes of a kind.
    pub fn outcome(&self, kind: &str) -> u64 {
        self.outcomes.get(kind).copied().unwrap_or(0)
    }

    /// Events FRED asked DES about: its records that got past its filter and its decoding.
    pub fn des_calls(&self) -> u64 {
        let fred = self.stages.get(&Stage::Fred).map_or(0, |s| s.records);
        let not_asked: u64 = self
            .outcomes
            .iter()
            .filter(|(kind, _)| {
                kind.as_str() == "dropped at fred: not-configured"
                    || kind.starts_with("dead-lettered at fred")
            })
            .map(|(_, n)| n)
            .sum();
        fred.saturating_sub(not_asked)
    }
}

/// Feeds `inputs` through `pipeline` the way each topic's event source mapping batches under
/// load: the CPP and EPPM records each gather into MSK events of up to [`MSK_BATCH_SIZE`]
/// records of their own topic (an EPPM record does not cut a CPP batch short), each event
/// followed by a drain of every queue. A customer coming online first sends the activities
/// gathered so far, then goes online with its record on the online topic; `Offline` switches
/// the OSG stand-in at once. Adds what happened to `tally`.
pub async fn feed<B: Backend, Q: Transport>(
    pipeline: &mut Pipeline<B, Q>,
    inputs: &[Input],
    current: &CurrentStage,
    tally: &mut RunTally,
) {
    let mut cpp: Vec<Vec<u8>> = Vec::new();
    let mut eppm: Vec<Vec<u8>> = Vec::new();
    let mut online: Vec<Vec<u8>> = Vec::new();
    for input in inputs {
        let (topic, batch, value) = match input {
            Input::Cpp(value) => {
                flush(pipeline, ONLINE_TOPIC, &mut online, current, tally).await;
                (CPP_TOPIC, &mut cpp, value)
            }
            Input::Eppm(value) => {
                flush(pipeline, ONLINE_TOPIC, &mut online, current, tally).await;
                (EPPM_TOPIC, &mut eppm, value)
            }
            Input::Online { account_id, value } => {
                flush(pipeline, CPP_TOPIC, &mut cpp, current, tally).await;
                flush(pipeline, EPPM_TOPIC, &mut eppm, current, tally).await;
                pipeline.onsite().set_online(account_id.clone(), true);
                (ONLINE_TOPIC, &mut online, value)
            }
            Input::Offline(account_id) => {
                pipeline.onsite().set_online(account_id.clone(), false);
                continue;
            }
        };
        batch.push(value.clone());
        if batch.len() == MSK_BATCH_SIZE {
            flush(pipeline, topic, batch, current, tally).await;
        }
    }
    flush(pipeline, CPP_TOPIC, &mut cpp, current, tally).await;
    flush(pipeline, EPPM_TOPIC, &mut eppm, current, tally).await;
    flush(pipeline, ONLINE_TOPIC, &mut online, current, tally).await;
}

async fn flush<B: Backend, Q: Transport>(
    pipeline: &mut Pipeline<B, Q>,
    topic: &str,
    batch: &mut Vec<Vec<u8>>,
    current: &CurrentStage,
    tally: &mut RunTally,
) {
    if batch.is_empty() {
        return;
    }
    tally.records_fed += batch.len() as u64;
    current.set(if topic == ONLINE_TOPIC {
        Stage::Msq
    } else {
        Stage::Dec
    });
    let des_requests = pipeline.des_requests();
    pipeline.feed_kafka(topic, std::mem::take(batch)).await;
    pipeline.drain().await;
    tally.des_requests += pipeline.des_requests().saturating_sub(des_requests);
    tally.add(pipeline.take_trace());
}

/// The in-memory pipeline of `scenario` on recorded queues.
pub type RecordedPipeline = Pipeline<MemoryBackend, Recording<MemoryTransport>>;

/// The in-memory pipeline of `scenario`, its queues recorded (up to `samples` events kept
/// per queue); with the stage marker the queues set and the log they keep.
pub fn recorded_in_memory(
    scenario: &Scenario,
    samples: usize,
) -> Result<(RecordedPipeline, CurrentStage, Arc<Mutex<TransportLog>>), ScenarioError> {
    let parts = MemoryBackend::parts(scenario);
    let current = CurrentStage::default();
    let transport = Recording::new(parts.transport, current.clone()).with_samples(samples);
    let log = transport.log();
    let pipeline = Pipeline::new(
        scenario,
        parts.ports,
        parts.onsite,
        ManualClock::new(scenario.now),
        transport,
    )?;
    Ok((pipeline, current, log))
}
