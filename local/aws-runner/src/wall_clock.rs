//! The run on the wall clock, for latency: every stage reads real time, and each message shown
//! by OSG is kept with the stage timestamps of its envelope and the time it was shown.
//!
//! The pipeline's stages read one [`ManualClock`]. With [`AwsSettings::wall_clock`] on,
//! [`WallClock`] moves it to the wall time (plus the scenario's offset: it starts at the
//! scenario's `now`, and a `setClock` step moves the offset) whenever a batch is handed to a
//! stage and after every invocation. So a stage's stamp (`tsdec`, `tstim`, `tsfred`, `tsbcg`)
//! is the wall time its invocation started; DEC's is the moment the runner fed the MSK batch,
//! which is the origin here (the in-process MSK has no delivery time, and `tsorigin` is the
//! activity's `occurredAt`, data of the scenario).
//!
//! [`StampingTransport`] wraps the queues: it times every `ReceiveMessage`, settle and idle
//! check, and
//! reads the stamps and correlation id of every envelope handed to BCG. [`TimedOnsite`] wraps
//! OSG: a message BCG shows is kept with the stamps of its correlation id and the wall time
//! it was shown ([`LatencyLog::observed`]). Off (the default), both pass everything through
//! and the run's output is the same.
//!
//! [`AwsSettings::wall_clock`]: crate::AwsSettings::wall_clock

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use rewards_shared::model::OnsiteMessage;
use rewards_shared::ports::{
    Clock, Delivery, Destination, ManualClock, MemoryOnsiteGateway, OnsiteError, OnsiteGateway,
};

use crate::backend::AwsRunBackend;
use scenario_runner::backend::{Backend, BatchReceipt, Ports, Transport};
use scenario_runner::queues::Queued;
use scenario_runner::stats::percentile;

/// Set this (to anything) for `rewards run --aws` to run on the wall clock and print the
/// latencies it saw on standard error.
pub const WALL_CLOCK_VAR: &str = "REWARDS_WALL_CLOCK";

/// Keeps a [`ManualClock`] at the wall time plus an offset (see the module documentation).
#[derive(Debug, Clone)]
pub struct WallClock {
    clock: ManualClock,
    state: Arc<Mutex<Offset>>,
}

#[derive(Debug, Clone, Copy)]
struct Offset {
    by: chrono::Duration,
    last_set: DateTime<Utc>,
}

impl WallClock {
    /// Runs `clock` from the time it shows now.
    pub fn new(clock: ManualClock) -> Self {
        let shown = clock.now();
        WallClock {
            clock,
            state: Arc::new(Mutex::new(Offset {
                by: shown - Utc::now(),
                last_set: shown,
            })),
        }
    }

    /// The wall time plus the offset; when someone else set the clock since the last
    /// [`WallClock::tick`] (a `setClock` step), the offset moves so that time goes on from
    /// there.
    pub fn now(&self) -> DateTime<Utc> {
        let shown = self.clock.now();
        let wall = Utc::now();
        match self.state.lock() {
            Ok(mut state) => {
                if shown != state.last_set {
                    state.by = shown - wall;
                    state.last_set = shown;
                }
                wall + state.by
            }
            Err(_) => wall,
        }
    }

    /// Sets the clock to [`WallClock::now`] and returns it.
    pub fn tick(&self) -> DateTime<Utc> {
        let now = self.now();
        self.clock.set(now);
        if let Ok(mut state) = self.state.lock() {
            state.last_set = now;
        }
        now
    }
}

/// The stage timestamps of one event, as BCG received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventStamps {
    /// `tsorigin`: the activity's `occurredAt` (scenario data, not a wall time).
    pub origin: Option<DateTime<Utc>>,
    /// `tsdec`: DEC's invocation started (the runner fed the MSK batch).
    pub dec: DateTime<Utc>,
    /// `tstim`.
    pub tim: DateTime<Utc>,
    /// `tsfred`.
    pub fred: DateTime<Utc>,
    /// `tsbcg`: BCG's invocation started (the clock BCG stamps with).
    pub bcg: DateTime<Utc>,
}

/// One message shown by OSG: its event's stamps and when OSG was called with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    /// The stamps of the event BCG rendered it from.
    pub stamps: EventStamps,
    /// When BCG's call to OSG was answered `Delivered`.
    pub osg: DateTime<Utc>,
}

/// One `ReceiveMessage` of the runner (what Lambda's poller does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receive {
    /// The queue.
    pub destination: Destination,
    /// Messages it returned (0: an empty poll).
    pub messages: usize,
    /// How long it took.
    pub elapsed: Duration,
}

/// What a run on the wall clock saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// The stamps of every event BCG received (with DEC's, TIM's and FRED's), in order.
    pub reached_bcg: Vec<EventStamps>,
    /// Every message OSG showed during a BCG invocation, in order.
    pub shown: Vec<Shown>,
    /// Every receive, in order.
    pub receives: Vec<Receive>,
    /// Every idle check (the depth of every queue), in order.
    pub idle_checks: Vec<Duration>,
    /// Every settle after an invocation (`DeleteMessageBatch`), by queue, in order.
    pub settles: Vec<(Destination, Duration)>,
}

#[derive(Debug, Default)]
struct LogState {
    observed: Observed,
    pending: HashMap<String, EventStamps>,
    in_bcg: bool,
}

/// What [`StampingTransport`] and [`TimedOnsite`] record, shared.
#[derive(Debug, Clone, Default)]
pub struct LatencyLog(Arc<Mutex<LogState>>);

impl LatencyLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// What was recorded so far.
    pub fn observed(&self) -> Observed {
        self.0
            .lock()
            .map(|state| state.observed.clone())
            .unwrap_or_default()
    }

    fn with(&self, f: impl FnOnce(&mut LogState)) {
        if let Ok(mut state) = self.0.lock() {
            f(&mut state);
        }
    }

    fn decided(&self, event: &SqsEvent, bcg: DateTime<Utc>) {
        let read: Vec<(String, EventStamps)> = event
            .records
            .iter()
            .filter_map(|record| stamps_of(record.body.as_deref()?, bcg))
            .collect();
        self.with(|state| {
            state.in_bcg = true;
            state
                .observed
                .reached_bcg
                .extend(read.iter().map(|(_, stamps)| *stamps));
            state.pending.extend(read);
        });
    }

    fn shown(&self, correlation_id: &str, osg: DateTime<Utc>) {
        self.with(|state| {
            if !state.in_bcg {
                return;
            }
            if let Some(stamps) = state.pending.remove(correlation_id) {
                state.observed.shown.push(Shown { stamps, osg });
            }
        });
    }
}

/// The correlation id and stage timestamps of an envelope BCG receives; `None` when any of
/// DEC's, TIM's or FRED's is missing.
pub fn stamps_of(body: &str, bcg: DateTime<Utc>) -> Option<(String, EventStamps)> {
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    let time = |name: &str| {
        json.get(name)
            .and_then(serde_json::Value::as_str)
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|at| at.with_timezone(&Utc))
    };
    let correlation = json.get("correlationid")?.as_str()?.to_owned();
    Some((
        correlation,
        EventStamps {
            origin: time("tsorigin"),
            dec: time("tsdec")?,
            tim: time("tstim")?,
            fred: time("tsfred")?,
            bcg,
        },
    ))
}

/// The clock and the log of a run on the wall clock.
#[derive(Debug, Clone)]
pub struct Timing {
    /// The stages' clock, kept at wall time.
    pub clock: WallClock,
    /// What was seen.
    pub log: LatencyLog,
}

/// The queues, timed and read for stamps when `timing` is set; passed through otherwise.
pub struct StampingTransport<Q> {
    inner: Q,
    timing: Option<Timing>,
}

impl<Q> StampingTransport<Q> {
    /// Wraps `inner`.
    pub fn new(inner: Q, timing: Option<Timing>) -> Self {
        StampingTransport { inner, timing }
    }
}

impl<Q: Transport> Transport for StampingTransport<Q> {
    type Receipt = Q::Receipt;

    async fn collect(&mut self, now: DateTime<Utc>) {
        if let Some(timing) = &self.timing {
            // An invocation ended (or a drain starts).
            timing.log.with(|state| state.in_bcg = false);
            timing.clock.tick();
        }
        self.inner.collect(now).await;
    }

    async fn receive(
        &mut self,
        destination: Destination,
    ) -> Option<(SqsEvent, BatchReceipt<Q::Receipt>)> {
        let started = Instant::now();
        let received = self.inner.receive(destination).await;
        if let Some(timing) = &self.timing {
            let elapsed = started.elapsed();
            let messages = received
                .as_ref()
                .map_or(0, |(event, _)| event.records.len());
            timing.log.with(|state| {
                state.observed.receives.push(Receive {
                    destination,
                    messages,
                    elapsed,
                })
            });
            if let Some((event, _)) = &received {
                let at = timing.clock.tick();
                if destination == Destination::DecidedEvents {
                    timing.log.decided(event, at);
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
        let destination = batch.destination;
        let started = Instant::now();
        let dead = self.inner.settle(batch, response).await;
        if let Some(timing) = &self.timing {
            let elapsed = started.elapsed();
            timing
                .log
                .with(|state| state.observed.settles.push((destination, elapsed)));
        }
        dead
    }

    async fn is_idle(&mut self) -> bool {
        let started = Instant::now();
        let idle = self.inner.is_idle().await;
        if let Some(timing) = &self.timing {
            let elapsed = started.elapsed();
            timing
                .log
                .with(|state| state.observed.idle_checks.push(elapsed));
        }
        idle
    }
}

/// OSG's stand-in, keeping when BCG's messages were shown when `timing` is set.
#[derive(Debug, Clone)]
pub struct TimedOnsite {
    inner: Arc<MemoryOnsiteGateway>,
    timing: Option<Timing>,
}

impl TimedOnsite {
    /// Wraps `inner`.
    pub fn new(inner: Arc<MemoryOnsiteGateway>, timing: Option<Timing>) -> Self {
        TimedOnsite { inner, timing }
    }
}

impl OnsiteGateway for TimedOnsite {
    async fn deliver(&self, message: &OnsiteMessage) -> Result<Delivery, OnsiteError> {
        let delivery = self.inner.deliver(message).await;
        if let (Some(timing), Ok(Delivery::Delivered)) = (&self.timing, &delivery) {
            timing
                .log
                .shown(&message.correlation_id, timing.clock.now());
        }
        delivery
    }
}

/// The run's backend: [`AwsRunBackend`]'s ports with OSG's stand-in wrapped in [`TimedOnsite`].
pub struct TimedBackend;

impl Backend for TimedBackend {
    type Promotions = <AwsRunBackend as Backend>::Promotions;
    type TimStore = <AwsRunBackend as Backend>::TimStore;
    type Publisher = <AwsRunBackend as Backend>::Publisher;
    type DeadLetters = <AwsRunBackend as Backend>::DeadLetters;
    type Templates = <AwsRunBackend as Backend>::Templates;
    type Onsite = TimedOnsite;
    type Store = <AwsRunBackend as Backend>::Store;
}

/// `ports` with OSG timed by `timing`.
pub fn timed_ports(ports: Ports<AwsRunBackend>, timing: Option<Timing>) -> Ports<TimedBackend> {
    Ports {
        promotions: ports.promotions,
        tim_store: ports.tim_store,
        publisher: ports.publisher,
        dead_letters: ports.dead_letters,
        templates: ports.templates,
        onsite: TimedOnsite::new(ports.onsite, timing),
        store: ports.store,
    }
}

/// The p50, p99 and largest of `values` (ms), 0 when empty.
pub fn spread_of(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (
        percentile(values, 0.5),
        percentile(values, 0.99),
        values.last().copied().unwrap_or(0.0),
    )
}

/// A hop's name, and its milliseconds in a `T`.
pub type Hop<T> = (&'static str, fn(&T) -> f64);

/// The hops of every event BCG received: name and the milliseconds between two of its stamps
/// (to the microsecond; the envelope's stamps are whole milliseconds).
pub const HOPS: [Hop<EventStamps>; 4] = [
    ("DEC → TIM", |s| millis(s.dec, s.tim)),
    ("TIM → FRED", |s| millis(s.tim, s.fred)),
    ("FRED → BCG", |s| millis(s.fred, s.bcg)),
    ("origin → BCG", |s| millis(s.dec, s.bcg)),
];

/// The hops of the messages OSG showed.
pub const SHOWN_HOPS: [Hop<Shown>; 2] = [
    ("BCG → OSG", |s| millis(s.stamps.bcg, s.osg)),
    ("origin → OSG", |s| millis(s.stamps.dec, s.osg)),
];

fn millis(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e3
}

/// A few lines for a person: per hop, p50, p99 and max of what was shown.
pub fn summary(observed: &Observed) -> String {
    let mut out = format!(
        "latency on the wall clock: {} event(s) reached BCG, {} shown by OSG ({} receives, {} idle checks)\n",
        observed.reached_bcg.len(),
        observed.shown.len(),
        observed.receives.len(),
        observed.idle_checks.len()
    );
    let mut line = |name: &str, mut values: Vec<f64>| {
        let (p50, p99, max) = spread_of(&mut values);
        out.push_str(&format!(
            "  {name:<13} p50 {p50:>7.1} ms  p99 {p99:>7.1} ms  max {max:>7.1} ms\n"
        ));
    };
    for (name, hop) in HOPS {
        line(name, observed.reached_bcg.iter().map(hop).collect());
    }
    for (name, hop) in SHOWN_HOPS {
        line(name, observed.shown.iter().map(hop).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn the_clock_runs_from_where_it_was_set() {
        let clock = ManualClock::new(at("2026-01-01T00:00:00Z"));
        let wall = WallClock::new(clock.clone());
        let first = wall.tick();
        assert!(first >= at("2026-01-01T00:00:00Z"));
        assert!(first < at("2026-01-01T00:00:10Z"), "{first}");
        clock.set(at("2027-06-01T00:00:00Z"));
        let later = wall.tick();
        assert!(later >= at("2027-06-01T00:00:00Z"), "{later}");
        assert!(later < at("2027-06-01T00:00:10Z"), "{later}");
        assert_eq!(clock.now(), later);
    }

    #[test]
    fn an_envelope_gives_its_correlation_id_and_stamps() {
        let body = r#"{"correlationid":"c-1","tsorigin":"2026-01-01T00:00:00.000Z",
            "tsdec":"2026-01-01T00:00:01.000Z","tstim":"2026-01-01T00:00:01.250Z",
            "tsfred":"2026-01-01T00:00:01.500Z","data":{}}"#;
        let bcg = at("2026-01-01T00:00:02Z");
        let (id, stamps) = stamps_of(body, bcg).expect("stamps");
        assert_eq!(id, "c-1");
        assert_eq!(stamps.tim, at("2026-01-01T00:00:01.250Z"));
        assert_eq!(stamps.bcg, bcg);
        let shown = Shown {
            stamps,
            osg: at("2026-01-01T00:00:02.040Z"),
        };
        let hops: Vec<f64> = HOPS.iter().map(|(_, hop)| hop(&stamps)).collect();
        assert_eq!(hops, vec![250.0, 250.0, 500.0, 1000.0]);
        let shown_hops: Vec<f64> = SHOWN_HOPS.iter().map(|(_, hop)| hop(&shown)).collect();
        assert_eq!(shown_hops, vec![40.0, 1040.0]);
        assert!(stamps_of(r#"{"correlationid":"c-1"}"#, bcg).is_none());
    }

    #[test]
    fn only_what_bcg_shows_is_kept() {
        let log = LatencyLog::new();
        let body = r#"{"correlationid":"c-1","tsdec":"2026-01-01T00:00:01Z",
            "tstim":"2026-01-01T00:00:01Z","tsfred":"2026-01-01T00:00:01Z"}"#;
        let mut event = SqsEvent::default();
        let mut record = aws_lambda_events::event::sqs::SqsMessage::default();
        record.body = Some(body.to_owned());
        event.records.push(record);
        log.shown("c-1", at("2026-01-01T00:00:03Z"));
        assert!(log.observed().shown.is_empty(), "before BCG received it");
        log.decided(&event, at("2026-01-01T00:00:02Z"));
        log.shown("c-1", at("2026-01-01T00:00:03Z"));
        log.shown("c-1", at("2026-01-01T00:00:04Z"));
        assert_eq!(log.observed().shown.len(), 1);
        assert_eq!(log.observed().reached_bcg.len(), 1);
    }
}
