//! The stages wired together in one process.
//!
//! Every stage's real handler runs, fed with the event shapes Lambda delivers: DEC and MSQ's
//! online trigger get MSK events built from the scenario's records, the other stages `SqsEvent`s
//! received from [`Queues`], and FRED reaches DES through a function URL request
//! ([`DesBridge`]). Stand-ins sit behind the ports: in-memory stores for DynamoDB, the
//! scenario's promotions for PPH and its templates for CSL, and an OSG that answers 200 for who
//! is onsite and 404 for everyone else. Each step is fed in, then the queues are drained until
//! they are empty.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::event::sqs::SqsBatchResponse;
use rewards_shared::config::Vars;
use rewards_shared::decision::DeliveryPreferences;
use rewards_shared::kafka::{encode_event, encode_record};
use rewards_shared::model::Promotion;
use rewards_shared::ports::{
    Destination, ManualClock, MemoryDeadLetters, MemoryMessageStore, MemoryOnsiteGateway,
    MemoryOutcomes, MemoryPromotions, MemoryPublisher, MemoryTemplates, MemoryTimStateStore,
    Outcome, Template,
};
use rewards_shared::stage::Stage;
use rewards_shared::telemetry::{MetricsOut, Telemetry};

use crate::des_bridge::DesBridge;
use crate::report::Trace;
use crate::scenario::{Scenario, ScenarioError, Step};
use crate::transport::Queues;

/// The CPP topic the runner feeds (`CPP_TOPIC`).
pub const CPP_TOPIC: &str = "local.rewards.cpp.activity";
/// The EPPM topic the runner feeds (`EPPM_TOPIC`).
pub const EPPM_TOPIC: &str = "local.rewards.eppm.activity";
/// The customer-online topic the runner feeds (`ONLINE_TOPIC`).
pub const ONLINE_TOPIC: &str = "local.rewards.customer.online";

/// Attempts at an MSK batch before the runner gives up on it (Lambda would keep retrying).
const MSK_ATTEMPTS: u32 = 3;

type Dec =
    dec::Handler<Arc<MemoryPromotions>, Arc<MemoryPublisher>, Arc<MemoryDeadLetters>, ManualClock>;
type Tim = tim::Handler<
    Arc<MemoryTimStateStore>,
    Arc<MemoryPublisher>,
    Arc<MemoryDeadLetters>,
    ManualClock,
>;
type Fred = fred::Handler<
    DesBridge<ManualClock>,
    Arc<MemoryPublisher>,
    Arc<MemoryDeadLetters>,
    ManualClock,
>;
type Bcg = bcg::Handler<
    Arc<MemoryTemplates>,
    Arc<MemoryOnsiteGateway>,
    Arc<MemoryPublisher>,
    Arc<MemoryDeadLetters>,
    ManualClock,
>;
type Msq = msq::Handler<
    Arc<MemoryMessageStore>,
    Arc<MemoryOnsiteGateway>,
    Arc<MemoryDeadLetters>,
    ManualClock,
>;

/// The pipeline of one scenario.
pub struct Pipeline {
    clock: ManualClock,
    onsite: Arc<MemoryOnsiteGateway>,
    publisher: Arc<MemoryPublisher>,
    outcomes: Arc<MemoryOutcomes>,
    queues: Queues,
    dec: Dec,
    tim: Tim,
    fred: Fred,
    bcg: Bcg,
    msq: Msq,
    offset: i64,
    trace: Vec<Trace>,
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

impl Pipeline {
    /// Wires the stages with the scenario's stand-ins and settings.
    pub fn new(scenario: &Scenario) -> Result<Self, ScenarioError> {
        let config_error = |problem: String| ScenarioError::Malformed {
            file: scenario.file.clone(),
            problem: format!("config: {problem}"),
        };
        let clock = ManualClock::new(scenario.now);
        let outcomes = Arc::new(MemoryOutcomes::new());
        let publisher = Arc::new(MemoryPublisher::new());
        let dead_letters = Arc::new(MemoryDeadLetters::new());
        let onsite = Arc::new(MemoryOnsiteGateway::new(scenario.onsite.iter().cloned()));
        let promotions: Vec<Promotion> = scenario.promotions.clone();
        let templates = Arc::new(MemoryTemplates::new());
        for template in &scenario.templates {
            templates.insert(
                &template.brand,
                template.message_type,
                &template.locale,
                Template {
                    title: template.title.clone(),
                    body: template.body.clone(),
                },
            );
        }
        let preferences = match &scenario.config.delivery_preferences {
            None => DeliveryPreferences::default(),
            Some(json) => {
                DeliveryPreferences::from_json(&json.to_string()).map_err(config_error)?
            }
        };
        let fred_filter = match &scenario.config.fred {
            None => fred::filter::FredFilter::default(),
            Some(json) => serde_json::from_value(json.clone())
                .map_err(|e| config_error(format!("fred: {e}")))?,
        };
        let bcg_vars: std::collections::HashMap<&str, &str> = [
            ("BRAND", "local"),
            ("CSL_URL", "http://csl.local"),
            ("OSG_URL", "http://osg.local"),
            ("MSQ_QUEUE_URL", "local"),
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
        Ok(Pipeline {
            dec: dec::Handler::new(
                CPP_TOPIC,
                EPPM_TOPIC,
                Arc::new(MemoryPromotions::new(promotions)),
                Arc::clone(&publisher),
                Arc::clone(&dead_letters),
                clock.clone(),
                telemetry(Stage::Dec, &outcomes),
            ),
            tim: tim::Handler::new(
                scenario.config.tim_filter_tag.clone(),
                Arc::new(MemoryTimStateStore::new()),
                Arc::clone(&publisher),
                Arc::clone(&dead_letters),
                clock.clone(),
                telemetry(Stage::Tim, &outcomes),
            ),
            fred: fred::Handler::new(
                fred_filter,
                DesBridge::new(des),
                Arc::clone(&publisher),
                Arc::clone(&dead_letters),
                clock.clone(),
                telemetry(Stage::Fred, &outcomes),
            ),
            bcg: bcg::Handler::new(
                bcg_config.settings(),
                templates,
                Arc::clone(&onsite),
                Arc::clone(&publisher),
                Arc::clone(&dead_letters),
                clock.clone(),
                telemetry(Stage::Bcg, &outcomes),
            ),
            msq: msq::Handler::new(
                Arc::new(MemoryMessageStore::new()),
                Arc::clone(&onsite),
                Arc::clone(&dead_letters),
                clock.clone(),
                telemetry(Stage::Msq, &outcomes),
            )
            .with_online_topic(ONLINE_TOPIC),
            clock,
            onsite,
            publisher,
            outcomes,
            queues: Queues::new(),
            offset: 0,
            trace: Vec::new(),
        })
    }

    /// Feeds one step and drains the pipeline.
    pub async fn feed(&mut self, number: usize, step: &Step) {
        self.trace.push(Trace::Step {
            number,
            summary: summary(step),
        });
        match step {
            Step::CppActivity(value) => {
                self.feed_kafka(Stage::Dec, CPP_TOPIC, value.to_string().into_bytes())
                    .await
            }
            Step::EppmActivity(value) => {
                self.feed_kafka(Stage::Dec, EPPM_TOPIC, value.to_string().into_bytes())
                    .await
            }
            Step::CppRaw(text) => {
                self.feed_kafka(Stage::Dec, CPP_TOPIC, text.clone().into_bytes())
                    .await
            }
            Step::CustomerOnline(value) => {
                if let Some(account) = value.get("accountId").and_then(|a| a.as_str()) {
                    self.onsite.set_online(account, true);
                }
                self.feed_kafka(Stage::Msq, ONLINE_TOPIC, value.to_string().into_bytes())
                    .await;
            }
            Step::CustomerOffline { account_id } => {
                self.onsite.set_online(account_id.clone(), false)
            }
            Step::SetClock(at) => self.clock.set(*at),
        }
        self.drain().await;
    }

    /// What happened so far.
    pub fn into_trace(self) -> Vec<Trace> {
        self.trace
    }

    async fn feed_kafka(&mut self, stage: Stage, topic: &str, value: Vec<u8>) {
        self.offset += 1;
        let event = encode_event(vec![encode_record(topic, 0, self.offset, &value, &[])]);
        for _ in 0..MSK_ATTEMPTS {
            let started = Instant::now();
            let failed = match stage {
                Stage::Msq => self
                    .msq
                    .handle(msq::MsqEvent::Kafka(event.clone()))
                    .await
                    .is_err(),
                _ => self.dec.handle(&event).await.is_err(),
            };
            self.record_invocation(stage, topic, 1, started, usize::from(failed));
            if !failed {
                return;
            }
        }
    }

    /// Delivers queued messages, stage by stage, until every queue is empty.
    async fn drain(&mut self) {
        const ORDER: [Destination; 6] = [
            Destination::EnrichedEvents,
            Destination::RelevantEvents,
            Destination::UnqualificationEvents,
            Destination::DecidedEvents,
            Destination::MsqInbound,
            Destination::MsqDelete,
        ];
        self.queues.accept(self.publisher.take_all());
        while !self.queues.is_empty() {
            for destination in ORDER {
                while let Some((event, batch)) = self.queues.receive(destination) {
                    let records = batch.len();
                    let started = Instant::now();
                    let (stage, response): (Stage, SqsBatchResponse) = match destination {
                        Destination::EnrichedEvents => (Stage::Tim, self.tim.handle(&event).await),
                        Destination::RelevantEvents | Destination::UnqualificationEvents => {
                            (Stage::Fred, self.fred.handle(event).await)
                        }
                        Destination::DecidedEvents => (Stage::Bcg, self.bcg.handle(event).await),
                        Destination::MsqInbound | Destination::MsqDelete => (
                            Stage::Msq,
                            match self.msq.handle(msq::MsqEvent::Sqs(event)).await {
                                Ok(msq::MsqResponse::Sqs(response)) => response,
                                Ok(msq::MsqResponse::Kafka) => SqsBatchResponse::default(),
                                Err(_) => rewards_shared::sqs::batch_response(
                                    batch.iter().map(|q| q.message_id.clone()),
                                ),
                            },
                        ),
                    };
                    let failures = response.batch_item_failures.len();
                    self.record_invocation(
                        stage,
                        destination.queue_name(),
                        records,
                        started,
                        failures,
                    );
                    for dead in self.queues.settle(destination, batch, &response) {
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

    fn record_invocation(
        &mut self,
        stage: Stage,
        trigger: &str,
        records: usize,
        started: Instant,
        failures: usize,
    ) {
        let elapsed = started.elapsed();
        let published = self.publisher.take_all();
        let mut emitted = BTreeMap::new();
        for message in &published {
            *emitted.entry(message.destination).or_insert(0) += 1;
        }
        self.queues.accept(published);
        self.trace.push(Trace::Invocation {
            stage,
            trigger: trigger.to_owned(),
            records,
            elapsed,
            emitted,
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
