//! The stages wired together in one process.
//!
//! Every stage's real handler runs, fed with the event shapes Lambda delivers: DEC and MSQ's
//! online trigger get MSK events built from the scenario's records, the other stages `SqsEvent`s
//! received from a [`Transport`], and FRED reaches DES through a function URL request
//! ([`DesBridge`]). Stand-ins sit behind the ports: in-memory stores for DynamoDB, the
//! scenario's promotions for PPH and its templates for CSL, and an OSG that answers 200 for who
//! is onsite and 404 for everyone else. Each step is fed in, then the queues are drained until
//! they are empty.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use rewards_shared::config::Vars;
use rewards_shared::decision::DeliveryPreferences;
use rewards_shared::kafka::{encode_event, encode_record};
use rewards_shared::ports::{
    Clock, CommonPorts, Destination, ManualClock, MemoryOnsiteGateway, MemoryOutcomes, Outcome,
};
use rewards_shared::stage::Stage;
use rewards_shared::telemetry::{MetricsOut, Telemetry};

use crate::backend::{Backend, Counting, MemoryBackend, MemoryTransport, Ports, Transport};
use crate::des_bridge::DesBridge;
use crate::report::Trace;
use crate::scenario::{Scenario, ScenarioError, Step};
pub use crate::stand_ins::StandIns;

/// The CPP topic the runner feeds (`CPP_TOPIC`).
pub const CPP_TOPIC: &str = "local.rewards.cpp.activity";
/// The EPPM topic the runner feeds (`EPPM_TOPIC`).
pub const EPPM_TOPIC: &str = "local.rewards.eppm.activity";
/// The customer-online topic the runner feeds (`ONLINE_TOPIC`).
pub const ONLINE_TOPIC: &str = "local.rewards.customer.online";

/// Attempts at an MSK batch before the runner gives up on it, by default (Lambda keeps
/// retrying until the record expires; see [`Pipeline::set_msk_attempts`]).
pub const MSK_ATTEMPTS: u32 = 3;

/// A Kafka record's value and its headers (name, value).
pub type KafkaValue = (Vec<u8>, Vec<(String, String)>);

type Published<B> = Counting<<B as Backend>::Publisher>;

/// The pipeline of one scenario, over a backend `B` and queues `Q`.
pub struct Pipeline<B: Backend, Q: Transport> {
    clock: ManualClock,
    onsite: Arc<MemoryOnsiteGateway>,
    outcomes: Arc<MemoryOutcomes>,
    published: Published<B>,
    transport: Q,
    dec: dec::Handler<B::Promotions, Published<B>, B::DeadLetters, ManualClock>,
    tim: tim::Handler<B::TimStore, Published<B>, B::DeadLetters, ManualClock>,
    fred: fred::Handler<DesBridge<ManualClock>, Published<B>, B::DeadLetters, ManualClock>,
    bcg: bcg::Handler<B::Templates, B::Onsite, Published<B>, B::DeadLetters, ManualClock>,
    msq: msq::Handler<B::Store, B::Onsite, B::DeadLetters, ManualClock>,
    offset: i64,
    msk_attempts: u32,
    trace: Vec<Trace>,
    des_requests: Arc<std::sync::atomic::AtomicU64>,
}

fn telemetry(stage: Stage, outcomes: &Arc<MemoryOutcomes>) -> Telemetry {
    Telemetry::new(
        stage,
        "local",
        "RewardMessaging",
        outcomes.clone(),
        MetricsOut::Discard,
    )
}

impl Pipeline<MemoryBackend, MemoryTransport> {
    /// The scenario's pipeline, everything in memory.
    pub fn in_memory(scenario: &Scenario) -> Result<Self, ScenarioError> {
        let parts = MemoryBackend::parts(scenario);
        Pipeline::new(
            scenario,
            parts.ports,
            parts.onsite,
            ManualClock::new(scenario.now),
            parts.transport,
        )
    }
}

impl<B: Backend, Q: Transport> Pipeline<B, Q> {
    /// Wires the stages over `ports` and `transport` with the scenario's settings; `onsite`
    /// is the OSG stand-in the steps switch customers on and off in, `clock` the clock every
    /// stage reads.
    pub fn new(
        scenario: &Scenario,
        ports: Ports<B>,
        onsite: Arc<MemoryOnsiteGateway>,
        clock: ManualClock,
        transport: Q,
    ) -> Result<Self, ScenarioError> {
        let config_error = |problem: String| ScenarioError::Malformed {
            file: scenario.file.clone(),
            problem: format!("config: {problem}"),
        };
        let outcomes = Arc::new(MemoryOutcomes::new());
        let preferences = match &scenario.config.delivery_preferences {
            None => DeliveryPreferences::default(),
            Some(json) => {
                DeliveryPreferences::from_json(&json.to_string()).map_err(config_error)?
            }
        };
        let fred_filter = match &scenario.config.fred {
            None => fred::FredFilter::default(),
            Some(json) => serde_json::from_value(json.clone())
                .map_err(|e| config_error(format!("fred: {e}")))?,
        };
        let bcg_vars: HashMap<&str, &str> = [
            ("BRAND", "local"),
            ("CSL_URL", "http://csl.local"),
            ("OSG_URL", "http://osg.local"),
            ("MSQ_QUEUE_URL", "local"),
            ("MSQ_DELETE_QUEUE_URL", "local"),
            ("DEAD_LETTER_QUEUE_URL", "local"),
            ("DEFAULT_LOCALE", scenario.config.default_locale.as_str()),
            (
                "CYCLE_START_WEEKDAY",
                scenario.config.cycle_start.weekday.as_str(),
            ),
            (
                "CYCLE_START_TIME_ZONE",
                scenario.config.cycle_start.time_zone.as_str(),
            ),
        ]
        .into_iter()
        .collect();
        let bcg_config = bcg::Config::from_vars(&Vars::new(&bcg_vars))
            .map_err(|e| config_error(e.to_string()))?;
        let des = Arc::new(des::Handler::new(
            preferences,
            clock.clone(),
            telemetry(Stage::Des, &outcomes),
        ));
        let published = Counting::new(ports.publisher);
        let des = DesBridge::new(des);
        let des_requests = des.requests();
        let common = |stage| {
            CommonPorts::new(
                published.clone(),
                ports.dead_letters.clone(),
                clock.clone(),
                telemetry(stage, &outcomes),
            )
        };
        Ok(Pipeline {
            dec: dec::Handler::new(CPP_TOPIC, EPPM_TOPIC, ports.promotions, common(Stage::Dec)),
            tim: tim::Handler::new(
                scenario.config.tim_filter_tag.clone(),
                ports.tim_store,
                common(Stage::Tim),
            ),
            fred: fred::Handler::new(fred_filter, des, common(Stage::Fred)),
            bcg: bcg::Handler::new(
                bcg_config.settings(),
                ports.templates,
                ports.onsite.clone(),
                common(Stage::Bcg),
            ),
            msq: msq::Handler::new(
                ports.store,
                ports.onsite,
                ports.dead_letters,
                clock.clone(),
                telemetry(Stage::Msq, &outcomes),
            )
            .with_online_topic(ONLINE_TOPIC)
            .with_brand("local"),
            clock,
            onsite,
            outcomes,
            published,
            transport,
            offset: 0,
            msk_attempts: MSK_ATTEMPTS,
            trace: Vec::new(),
            des_requests,
        })
    }

    /// Requests FRED has sent DES so far (DES's Lambda invocations).
    pub fn des_requests(&self) -> u64 {
        self.des_requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Feeds one step and drains the pipeline.
    pub async fn feed(&mut self, number: usize, step: &Step) {
        self.trace.push(Trace::Step {
            number,
            summary: summary(step),
        });
        match step {
            Step::CppActivity(value) => {
                self.feed_kafka(CPP_TOPIC, vec![value.to_string().into_bytes()])
                    .await
            }
            Step::EppmActivity(value) => {
                self.feed_kafka(EPPM_TOPIC, vec![value.to_string().into_bytes()])
                    .await
            }
            Step::CppRaw(text) => {
                self.feed_kafka(CPP_TOPIC, vec![text.clone().into_bytes()])
                    .await
            }
            Step::CustomerOnline(value) => {
                // Read as MSQ reads it: text, or a whole number written as a JSON number.
                let account = match value.get("accountId") {
                    Some(serde_json::Value::String(text)) => Some(text.clone()),
                    Some(serde_json::Value::Number(number)) if number.is_u64() => {
                        Some(number.to_string())
                    }
                    _ => None,
                };
                if let Some(account) = account {
                    self.onsite.set_online(account, true);
                }
                self.feed_kafka(ONLINE_TOPIC, vec![value.to_string().into_bytes()])
                    .await;
            }
            Step::CustomerOffline { account_id } => {
                self.onsite.set_online(account_id.clone(), false)
            }
            Step::SetClock(at) => self.clock.set(*at),
        }
        self.drain().await;
    }

    /// What happened so far (and forget it).
    pub fn take_trace(&mut self) -> Vec<Trace> {
        std::mem::take(&mut self.trace)
    }

    /// What happened.
    pub fn into_trace(self) -> Vec<Trace> {
        self.trace
    }

    /// The clock every stage reads.
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// The OSG stand-in.
    pub fn onsite(&self) -> &Arc<MemoryOnsiteGateway> {
        &self.onsite
    }

    /// The queues between the stages.
    pub fn transport_mut(&mut self) -> &mut Q {
        &mut self.transport
    }

    /// Sets how many times a failed MSK batch is tried before the runner gives up on it and
    /// reports it dead-lettered (`retries-exhausted`, as the event source's on-failure
    /// destination would receive it); at least once.
    pub fn set_msk_attempts(&mut self, attempts: u32) {
        self.msk_attempts = attempts.max(1);
    }

    /// Feeds `values` as one MSK event of `topic` (to DEC, or to MSQ for the online topic),
    /// retrying a failed invocation as MSK would (see [`Pipeline::set_msk_attempts`]). Does
    /// not drain.
    pub async fn feed_kafka(&mut self, topic: &str, values: Vec<Vec<u8>>) {
        let records = values
            .into_iter()
            .map(|value| (value, Vec::new()))
            .collect();
        self.feed_kafka_records(topic, records).await
    }

    /// Like [`Pipeline::feed_kafka`], with each record's headers (name, value).
    pub async fn feed_kafka_records(&mut self, topic: &str, values: Vec<KafkaValue>) {
        if values.is_empty() {
            return;
        }
        let records: Vec<_> = values
            .iter()
            .map(|(value, headers)| {
                self.offset += 1;
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str()))
                    .collect();
                let mut record = encode_record(topic, 0, self.offset, value, &headers);
                record.timestamp.0 = self.clock.now();
                record
            })
            .collect();
        let count = records.len();
        let event = encode_event(records);
        let stage = if topic == ONLINE_TOPIC {
            Stage::Msq
        } else {
            Stage::Dec
        };
        for _ in 0..self.msk_attempts {
            let started = Instant::now();
            let failed = match stage {
                // A partial batch response is retried whole here (the stages are idempotent);
                // Lambda retries just the records it names.
                Stage::Msq => !matches!(
                    self.msq.handle(msq::MsqEvent::Kafka(event.clone())).await,
                    Ok(msq::MsqResponse::Kafka(response)) if response.is_success()
                ),
                _ => {
                    !matches!(self.dec.handle(&event).await, Ok(response) if response.is_success())
                }
            };
            self.record_invocation(stage, topic, count, started, usize::from(failed))
                .await;
            if !failed {
                return;
            }
        }
        self.trace.push(Trace::Outcome(Outcome::DeadLettered {
            stage,
            reason: format!(
                "retries-exhausted: MSK batch of {count} record(s) from {topic} failed {} times",
                self.msk_attempts
            ),
        }));
    }

    /// Delivers queued messages, stage by stage, until every queue is empty.
    pub async fn drain(&mut self) {
        self.transport.collect(Clock::now(&self.clock)).await;
        while !self.transport.is_idle().await {
            for destination in Destination::ALL {
                while let Some((event, receipt)) = self.transport.receive(destination).await {
                    let records = event.records.len();
                    let started = Instant::now();
                    let (stage, response) = self.deliver(destination, event).await;
                    let failures = response.batch_item_failures.len();
                    self.record_invocation(
                        stage,
                        destination.queue_name(),
                        records,
                        started,
                        failures,
                    )
                    .await;
                    for dead in self.transport.settle(receipt, &response).await {
                        let outcome = Outcome::DeadLettered {
                            stage,
                            reason: format!(
                                "retries-exhausted: message {} received {} times",
                                dead.message_id, dead.receive_count
                            ),
                        };
                        self.trace.push(Trace::Outcome(outcome));
                    }
                }
            }
        }
    }

    /// Runs the stage that consumes `destination` on one batch, as the lean event the
    /// handlers take.
    async fn deliver(
        &self,
        destination: Destination,
        event: SqsEvent,
    ) -> (Stage, SqsBatchResponse) {
        let event = rewards_shared::lambda_event::SqsEvent::from(event);
        match destination {
            Destination::EnrichedEvents => (Stage::Tim, self.tim.handle(&event).await),
            Destination::RelevantEvents | Destination::UnqualificationEvents => {
                (Stage::Fred, self.fred.handle(event).await)
            }
            Destination::DecidedEvents => (Stage::Bcg, self.bcg.handle(event).await),
            Destination::MsqInbound | Destination::MsqDelete => {
                let ids: Vec<String> = event
                    .records
                    .iter()
                    .map(|m| rewards_shared::sqs::message_id(m).to_owned())
                    .collect();
                let response = match self.msq.handle(msq::MsqEvent::Sqs(event)).await {
                    Ok(msq::MsqResponse::Sqs(response)) => response,
                    Ok(msq::MsqResponse::Kafka(_)) => SqsBatchResponse::default(),
                    Err(_) => rewards_shared::sqs::batch_response(ids),
                };
                (Stage::Msq, response)
            }
        }
    }

    async fn record_invocation(
        &mut self,
        stage: Stage,
        trigger: &str,
        records: usize,
        started: Instant,
        failures: usize,
    ) {
        let elapsed = started.elapsed();
        self.transport.collect(Clock::now(&self.clock)).await;
        self.trace.push(Trace::Invocation {
            stage,
            trigger: trigger.to_owned(),
            records,
            elapsed,
            emitted: self.published.take(),
            failures,
        });
        self.trace
            .extend(self.outcomes.take().into_iter().map(Trace::Outcome));
    }
}

fn summary(step: &Step) -> String {
    let field = |value: &serde_json::Value, name: &str| {
        value
            .get(name)
            .map(|v| v.to_string().trim_matches('"').to_owned())
            .unwrap_or_default()
    };
    match step {
        Step::CppActivity(value) => format!(
            "cppActivity {} for {} in {} (sequence {})",
            field(value, "status"),
            field(value, "accountId"),
            field(value, "promoCode"),
            field(value, "sequence")
        ),
        Step::EppmActivity(value) => format!(
            "eppmActivity week {} unqualification for {} in {}",
            field(value, "week"),
            field(value, "accountId"),
            field(value, "promoCode")
        ),
        Step::CppRaw(text) => format!("cppRaw {:?}", text.chars().take(40).collect::<String>()),
        Step::CustomerOnline(value) => format!("customerOnline {}", field(value, "accountId")),
        Step::CustomerOffline { account_id } => format!("customerOffline {account_id}"),
        Step::SetClock(at) => format!(
            "setClock {}",
            rewards_shared::envelope::format_timestamp(*at)
        ),
    }
}
