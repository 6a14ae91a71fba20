//! Chain and per-stage throughput: the mix through every stage's real handler with the
//! in-memory adapters, on one core (the `rewards` command runs a current-thread runtime).
//!
//! - Chain: Kafka records fed per second of wall time, and the process's CPU time per record
//!   (user + system, from `getrusage`), the runner's queues and bookkeeping included.
//! - Stages: records per second of handler time, from the runner's per-invocation timings.
//!   FRED's handler calls DES in process, so DES is timed on its own (the requests FRED sent,
//!   replayed through DES's handler as function URL events) and taken out of FRED's time.
//! - Lambda event decoding: in Lambda, the runtime client parses each invocation's JSON event
//!   before the handler runs, which the in-process runner skips; it is measured apart (the
//!   events the queues delivered, as JSON, parsed again) and reported beside the chain.
//!
//! Not in these figures: log lines and EMF metrics (the runner discards them; in Lambda they
//! are written to stdout), and anything on the network.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use rewards_shared::decision::{batch, DeliveryPreferences};
use rewards_shared::kafka::encode_record;
use rewards_shared::lambda_event as lean;
use rewards_shared::ports::{Destination, ManualClock, MemoryOutcomes};
use rewards_shared::stage::Stage;
use rewards_shared::telemetry::{MetricsOut, Telemetry};

use super::driver::{feed, recorded_in_memory, QueueTally, RunTally, SAMPLE_EVENTS};
use super::mix::{Input, Mix};
use scenario_runner::des_bridge::{
    batch_request, decision_request, function_url_request, to_request,
};
use scenario_runner::pipeline::CPP_TOPIC;
use scenario_runner::scenario::ScenarioError;

/// Share of the mix run first, unmeasured, to warm caches and allocators.
const WARM_UP_SHARE: usize = 50; // one fiftieth

/// The process's CPU time so far, user and system (`getrusage(RUSAGE_SELF)`).
pub fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a `rusage` into the pointer it is given, which points to
    // zeroed memory of that type; on failure it writes nothing and the zeroes are read.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    timeval(usage.ru_utime) + timeval(usage.ru_stime)
}

/// A `timeval` as a duration (negative fields read as zero).
pub fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(u64::try_from(tv.tv_sec).unwrap_or(0))
        + Duration::from_micros(u64::try_from(tv.tv_usec).unwrap_or(0))
}

/// What the in-memory run measured.
#[derive(Debug, Clone, Default)]
pub struct Throughput {
    /// Kafka records fed in the measured part.
    pub events: u64,
    /// Wall time of the measured part.
    pub wall: Duration,
    /// Process CPU time of the measured part.
    pub cpu: Duration,
    /// Invocations, records, handler time and outcomes.
    pub tally: RunTally,
    /// DES handler time per request (µs), from the replay of FRED's batches.
    pub des_micros_per_call: f64,
    /// Events per DES request in the replay.
    pub des_events_per_call: f64,
    /// Lambda event JSON parse time per record (µs), by trigger (`msk`, queue names, and
    /// [`DES_FUNCTION_URL`] per DES request).
    pub decode_micros_per_record: BTreeMap<String, f64>,
    /// What the queues delivered.
    pub queues: BTreeMap<Destination, QueueTally>,
    /// Bytes of log lines the functions wrote at INFO in the measured part (EMF metric lines
    /// and the outcome lines of production's `LogOutcomes` not included).
    pub log_bytes: u64,
}

impl Throughput {
    /// Records per second through the whole chain.
    pub fn events_per_second(&self) -> f64 {
        per_second(self.events, self.wall)
    }

    /// Bytes of log lines per chain event at INFO.
    pub fn log_bytes_per_event(&self) -> f64 {
        self.log_bytes as f64 / self.events.max(1) as f64
    }

    /// CPU µs per record through the whole chain.
    pub fn cpu_micros_per_event(&self) -> f64 {
        micros_per(self.cpu, self.events)
    }

    /// A stage's records per second of its own handler time (FRED without DES).
    pub fn stage_records_per_second(&self, stage: Stage) -> f64 {
        if stage == Stage::Des {
            return if self.des_micros_per_call > 0.0 {
                1e6 * self.des_events_per_call.max(1.0) / self.des_micros_per_call
            } else {
                0.0
            };
        }
        let Some(tally) = self.tally.stages.get(&stage) else {
            return 0.0;
        };
        let mut elapsed = tally.elapsed.as_secs_f64();
        if stage == Stage::Fred {
            elapsed -= self.tally.des_requests as f64 * self.des_micros_per_call / 1e6;
        }
        if elapsed <= 0.0 {
            0.0
        } else {
            tally.records as f64 / elapsed
        }
    }

    /// Lambda event decoding per chain event (µs): each queue's per-record parse time times
    /// the records it delivered per event, plus the MSK records.
    pub fn decode_micros_per_event(&self) -> f64 {
        if self.events == 0 {
            return 0.0;
        }
        let msk = self
            .decode_micros_per_record
            .get("msk")
            .copied()
            .unwrap_or(0.0);
        let queues: f64 = self
            .queues
            .iter()
            .map(|(destination, tally)| {
                self.decode_micros_per_record
                    .get(destination.queue_name())
                    .copied()
                    .unwrap_or(0.0)
                    * tally.messages as f64
            })
            .sum();
        let des = self
            .decode_micros_per_record
            .get(DES_FUNCTION_URL)
            .copied()
            .unwrap_or(0.0)
            * self.tally.des_requests as f64;
        msk + (queues + des) / self.events as f64
    }
}

/// `n` per second of `elapsed`.
pub fn per_second(n: u64, elapsed: Duration) -> f64 {
    if elapsed.is_zero() {
        0.0
    } else {
        n as f64 / elapsed.as_secs_f64()
    }
}

/// µs of `elapsed` per one of `n`.
pub fn micros_per(elapsed: Duration, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        elapsed.as_secs_f64() * 1e6 / n as f64
    }
}

/// The key of DES's function URL event in [`Throughput::decode_micros_per_record`].
pub const DES_FUNCTION_URL: &str = "des-function-url";

/// Runs `mix` through the in-memory pipeline and measures it.
pub async fn run(mix: &Mix) -> Result<Throughput, ScenarioError> {
    // The functions' own log subscriber at INFO, as Lambda runs them: every record's span and
    // log lines are built and formatted, then counted instead of written to standard output.
    let log_bytes = LogBytes::default();
    let _logs = tracing::subscriber::set_default(rewards_shared::telemetry::logging::subscriber(
        "info",
        log_bytes.clone(),
    ));
    let scenario = &mix.scenario;
    let (mut pipeline, current, log) = recorded_in_memory(scenario, SAMPLE_EVENTS)?;

    let warm_up = warm_up_len(&mix.inputs);
    let mut tally = RunTally::default();
    feed(&mut pipeline, &mix.inputs[..warm_up], &current, &mut tally).await;
    let mut tally = RunTally::default();
    if let Ok(mut log) = log.lock() {
        log.queues.clear();
    }
    let log_bytes_before = log_bytes.total();
    let cpu_before = cpu_time();
    let started = Instant::now();
    feed(&mut pipeline, &mix.inputs[warm_up..], &current, &mut tally).await;
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    let log_bytes = log_bytes.total() - log_bytes_before;

    let (queues, samples) = match log.lock() {
        Ok(mut log) => (
            std::mem::take(&mut log.queues),
            std::mem::take(&mut log.samples),
        ),
        Err(_) => Default::default(),
    };
    // Replays and re-parses: about ten per event measured, at most 20,000.
    let budget = (tally.records_fed * 10).clamp(100, 20_000);
    let (des_micros_per_call, des_events_per_call) = time_des(scenario.now, &samples, budget).await;
    let mut decode = decode_times(&samples, budget);
    decode.insert("msk".to_owned(), time_msk_decode(mix, budget));
    decode.insert(
        DES_FUNCTION_URL.to_owned(),
        time_function_url_decode(&samples, budget),
    );
    Ok(Throughput {
        events: tally.records_fed,
        wall,
        cpu,
        tally,
        des_micros_per_call,
        des_events_per_call,
        decode_micros_per_record: decode,
        queues,
        log_bytes,
    })
}

/// Counts the bytes the log subscriber writes (a `MakeWriter` whose writers drop the bytes).
#[derive(Debug, Clone, Default)]
struct LogBytes(Arc<AtomicU64>);

impl LogBytes {
    fn total(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl std::io::Write for LogBytes {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBytes {
    type Writer = LogBytes;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Where the measured part starts: after a fiftieth of the inputs.
fn warm_up_len(inputs: &[Input]) -> usize {
    (inputs.len() / WARM_UP_SHARE).min(inputs.len())
}

/// DES's handler time per request and events per request: the batches FRED received, replayed
/// as the requests FRED sends (one event alone, more as a batch) through a DES handler of their
/// own (the request parse included, as in Lambda).
async fn time_des(
    now: chrono::DateTime<chrono::Utc>,
    samples: &BTreeMap<Destination, Vec<SqsEvent>>,
    budget: u64,
) -> (f64, f64) {
    let requests = fred_requests(samples);
    if requests.is_empty() {
        return (0.0, 0.0);
    }
    let des = des::Handler::new(
        DeliveryPreferences::default(),
        ManualClock::new(now),
        Telemetry::new(
            Stage::Des,
            "local",
            "RewardMessaging",
            Arc::new(MemoryOutcomes::new()),
            MetricsOut::Discard,
        ),
    );
    let events: usize = requests.iter().map(|(n, _)| n).sum();
    let rounds = (budget as usize / events.max(1)).max(1);
    let mut elapsed = Duration::ZERO;
    let mut calls = 0u64;
    for _ in 0..rounds {
        for (n, body) in &requests {
            // Built outside the timing: the function URL event's parse is measured apart.
            let request = if *n == 1 {
                decision_request(body.clone(), "bench")
            } else {
                batch_request(body.clone(), "bench")
            };
            let Ok(request) = request else {
                continue;
            };
            let started = Instant::now();
            std::hint::black_box(des.handle(request).await);
            elapsed += started.elapsed();
            calls += 1;
        }
    }
    (
        micros_per(elapsed, calls),
        events as f64 / requests.len() as f64,
    )
}

/// The requests FRED sends DES for the batches it received: per batch, its events' count and
/// the body (the event alone, or a JSON array of them).
fn fred_requests(samples: &BTreeMap<Destination, Vec<SqsEvent>>) -> Vec<(usize, String)> {
    [
        Destination::RelevantEvents,
        Destination::UnqualificationEvents,
    ]
    .iter()
    .filter_map(|destination| samples.get(destination))
    .flatten()
    .filter_map(|event| {
        let bodies: Vec<&str> = event
            .records
            .iter()
            .filter_map(|m| m.body.as_deref())
            .collect();
        match bodies.as_slice() {
            [] => None,
            [one] => Some((1, (*one).to_owned())),
            many => Some((many.len(), batch::request_body(many))),
        }
    })
    .collect()
}

/// Per queue: the time to parse its delivered events from JSON, per record.
fn decode_times(
    samples: &BTreeMap<Destination, Vec<SqsEvent>>,
    budget: u64,
) -> BTreeMap<String, f64> {
    samples
        .iter()
        .filter_map(|(destination, events)| {
            let texts: Vec<String> = events
                .iter()
                .filter_map(|e| serde_json::to_string(e).ok())
                .collect();
            let records: u64 = events.iter().map(|e| e.records.len() as u64).sum();
            let time = time_parse::<lean::SqsEvent>(&texts)?;
            let rounds = rounds_for(records, budget);
            Some((
                destination.queue_name().to_owned(),
                micros_per(time(rounds), records * rounds),
            ))
        })
        .collect()
}

/// The function URL event parse time per DES request (JSON to the `lambda_http` request), on
/// the bodies FRED received.
fn time_function_url_decode(samples: &BTreeMap<Destination, Vec<SqsEvent>>, budget: u64) -> f64 {
    let events: Vec<String> = fred_requests(samples)
        .iter()
        .map(|(_, body)| function_url_request(body, "bench").to_string())
        .collect();
    if events.is_empty() {
        return 0.0;
    }
    let rounds = rounds_for(events.len() as u64, budget);
    let started = Instant::now();
    for _ in 0..rounds {
        for event in &events {
            let parsed = serde_json::from_str(event).map_err(|e| e.to_string());
            std::hint::black_box(parsed.and_then(to_request).is_ok());
        }
    }
    micros_per(started.elapsed(), events.len() as u64 * rounds)
}

/// The MSK event parse time per record, on the mix's first records.
fn time_msk_decode(mix: &Mix, budget: u64) -> f64 {
    let values: Vec<&Vec<u8>> = mix
        .inputs
        .iter()
        .filter_map(|input| match input {
            Input::Cpp(value) => Some(value),
            _ => None,
        })
        .take(super::driver::MSK_BATCH_SIZE)
        .collect();
    let records: Vec<_> = values
        .iter()
        .enumerate()
        .map(|(offset, value)| encode_record(CPP_TOPIC, 0, offset as i64, value, &[]))
        .collect();
    let count = records.len() as u64;
    let Ok(text) = serde_json::to_string(&super::cold_start::lambda_msk_event(records)) else {
        return 0.0;
    };
    let texts = [text];
    let Some(time) = time_parse::<lean::KafkaEvent>(&texts) else {
        return 0.0;
    };
    let rounds = rounds_for(count, budget);
    micros_per(time(rounds), count * rounds)
}

fn rounds_for(records: u64, budget: u64) -> u64 {
    (budget / records.max(1)).max(1)
}

/// A timer of `rounds` parses of every text as `T` (None when there is nothing to parse).
fn time_parse<T: serde::de::DeserializeOwned>(
    texts: &[String],
) -> Option<impl Fn(u64) -> Duration + '_> {
    if texts.is_empty() {
        return None;
    }
    Some(move |rounds: u64| {
        let started = Instant::now();
        for _ in 0..rounds {
            for text in texts {
                let parsed: Result<T, _> = serde_json::from_str(text);
                std::hint::black_box(parsed.is_ok());
            }
        }
        started.elapsed()
    })
}
