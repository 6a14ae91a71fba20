//! `rewards chaos`: the whole chain, once clean and once with faults, on the same seeded
//! events — nothing lost, nothing shown twice, no panic.
//!
//! ```text
//! rewards chaos [--events N] [--seed S] [--duplicate-share F] [--json FILE]
//! ```
//!
//! - [`generator`]: the seeded, realistic events;
//! - [`faults`]: fault-injecting wrappers of every port, and the crash switch;
//! - [`chaotic_queues`]: the chaotic queues (duplicates, reordering, crashes before the ack);
//! - [`ledger`]: what was expected and what was delivered;
//! - [`report`]: the figures.
//!
//! Both runs feed the same steps through every stage's real handler ([`Pipeline`]). After the
//! last step the faults stop (the outage is over), every customer comes online and the
//! pipeline drains, in both runs, so their end states compare: whatever the faulty run still
//! held is delivered then, or was lost. Exit status: 0 when nothing was lost or shown twice,
//! 1 otherwise, 2 for bad usage.
#![deny(missing_docs)]

pub mod chaotic_queues;
pub mod faults;
pub mod generator;
pub mod ledger;
pub mod over_aws;
pub mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use rewards_shared::envelope::format_timestamp;
use rewards_shared::ports::{
    ManualClock, MemoryDeadLetters, MemoryMessageStore, MemoryOnsiteGateway, MemoryPromotions,
    MemoryPublisher, MemoryTemplates, MemoryTimStateStore,
};
use serde_json::json;

use chaotic_queues::ChaosTransport;
use faults::{FaultShares, Faults, Faulty};
use generator::{ChaosStep, Generated, Record};
use ledger::{DeadLetterTally, Journal, Observed, RunRecord};
use report::ChaosReport;
use scenario_runner::backend::{Backend, Ports, Transport};
use scenario_runner::pipeline::{Pipeline, StandIns, CPP_TOPIC, EPPM_TOPIC, ONLINE_TOPIC};
use scenario_runner::scenario::{Scenario, ScenarioConfig, ScenarioError, Step};

/// Default number of events.
pub const DEFAULT_EVENTS: usize = 100_000;
/// Default seed.
pub const DEFAULT_SEED: u64 = 20_261_121;
/// Default share of duplicated, and of reordered, deliveries.
pub const DEFAULT_DUPLICATE_SHARE: f64 = 0.05;
/// Share of SQS-triggered invocations that crash before acknowledging their batch.
pub const CRASH_SHARE: f64 = 0.01;
/// Attempts at an MSK batch (Lambda retries MSK batches until the records expire).
pub const MSK_ATTEMPTS: u32 = 50;

/// Why the chaos run could not run (not what it found).
#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    /// The pipeline could not be built.
    #[error("cannot build the pipeline: {0}")]
    Pipeline(#[from] ScenarioError),
    /// The run over AWS could not set up or clean up its tables and queues.
    #[error("{0}")]
    Aws(String),
    /// The JSON report could not be written.
    #[error("cannot write {file}: {reason}")]
    Write {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        reason: String,
    },
}

/// The command line of `rewards chaos`.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct Options {
    /// Events to generate.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_EVENTS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub events: usize,
    /// Seed of every random choice.
    #[arg(long, value_name = "S", default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Share of duplicated, and of reordered, deliveries on every queue (0 to 1).
    #[arg(long, value_name = "F", default_value_t = DEFAULT_DUPLICATE_SHARE, value_parser = share)]
    pub duplicate_share: f64,
    /// Where to write the JSON report.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Run over DynamoDB and SQS at the SDK's endpoint (a local one: moto) instead of in
    /// memory.
    #[arg(long)]
    pub aws: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            events: DEFAULT_EVENTS,
            seed: DEFAULT_SEED,
            duplicate_share: DEFAULT_DUPLICATE_SHARE,
            json: None,
            aws: false,
        }
    }
}

/// A share between 0 and 1.
fn share(text: &str) -> Result<f64, String> {
    text.parse()
        .ok()
        .filter(|share: &f64| (0.0..=1.0).contains(share))
        .ok_or_else(|| format!("`{text}` is not a share between 0 and 1"))
}

/// The ports of a chaos pipeline: every one behind a fault wrapper, the effects that matter
/// journalled underneath.
pub struct ChaosBackend;

impl Backend for ChaosBackend {
    type Promotions = Faulty<Arc<MemoryPromotions>>;
    type TimStore = Faulty<Observed<Arc<MemoryTimStateStore>>>;
    type Publisher = Faulty<Arc<MemoryPublisher>>;
    type DeadLetters = Faulty<Arc<MemoryDeadLetters>>;
    type Templates = Faulty<Arc<MemoryTemplates>>;
    type Onsite = Faulty<Observed<Arc<MemoryOnsiteGateway>>>;
    type Store = Faulty<Observed<Arc<MemoryMessageStore>>>;
}

/// What one run gives back.
struct Run {
    record: RunRecord,
    faults: faults::FaultCounts,
    transport: chaotic_queues::TransportCounts,
    seconds: f64,
}

fn headers(record: &Record) -> (Vec<u8>, Vec<(String, String)>) {
    (
        record.value.clone(),
        vec![("correlationid".to_owned(), record.correlation_id.clone())],
    )
}

fn online_value(account_id: &str, brand: &str, at: DateTime<Utc>) -> serde_json::Value {
    json!({"accountId": account_id, "brand": brand, "onlineAt": format_timestamp(at)})
}

/// The queues a chaos run drains: the chaotic in-memory ones, or real SQS queues.
pub trait ChaosQueues: Transport {
    /// Turns the transport's own chaos on or off.
    fn set_chaos(&mut self, enabled: bool);
    /// What the transport did.
    fn counts(&self) -> chaotic_queues::TransportCounts;
}

impl ChaosQueues for ChaosTransport {
    fn set_chaos(&mut self, enabled: bool) {
        self.set_enabled(enabled);
    }

    fn counts(&self) -> chaotic_queues::TransportCounts {
        ChaosTransport::counts(self)
    }
}

/// What a run's pipeline is built on, given its stand-ins, its faults and its journal.
pub trait RunParts<B: Backend, Q: ChaosQueues> {
    /// The ports and the queues.
    fn build(
        self,
        stand_ins: &StandIns,
        faults: &Arc<Faults>,
        journal: &Arc<Journal>,
    ) -> (Ports<B>, Q);
}

/// The in-memory parts: every port in memory, the chaotic queues.
struct InMemory {
    duplicate_share: f64,
    crash_share: f64,
    seed: u64,
}

impl RunParts<ChaosBackend, ChaosTransport> for InMemory {
    fn build(
        self,
        stand_ins: &StandIns,
        faults: &Arc<Faults>,
        journal: &Arc<Journal>,
    ) -> (Ports<ChaosBackend>, ChaosTransport) {
        let publisher = Arc::new(MemoryPublisher::new());
        let faulty = |port| Faulty::new(port, Arc::clone(faults));
        let ports = Ports::<ChaosBackend> {
            promotions: faulty(Arc::clone(&stand_ins.promotions)),
            tim_store: Faulty::new(
                Observed::new(Arc::new(MemoryTimStateStore::new()), Arc::clone(journal)),
                Arc::clone(faults),
            ),
            publisher: Faulty::new(Arc::clone(&publisher), Arc::clone(faults)),
            dead_letters: Faulty::new(Arc::new(MemoryDeadLetters::new()), Arc::clone(faults)),
            templates: Faulty::new(Arc::clone(&stand_ins.templates), Arc::clone(faults)),
            onsite: Faulty::new(
                Observed::new(Arc::clone(&stand_ins.onsite), Arc::clone(journal)),
                Arc::clone(faults),
            ),
            store: Faulty::new(
                Observed::new(Arc::new(MemoryMessageStore::new()), Arc::clone(journal)),
                Arc::clone(faults),
            ),
        };
        let transport = ChaosTransport::new(
            publisher,
            Arc::clone(faults),
            self.duplicate_share,
            self.crash_share,
            self.seed.wrapping_add(1),
        );
        (ports, transport)
    }
}

/// The scenario a chaos run's stand-ins serve.
fn scenario(generated: &Generated) -> Scenario {
    Scenario {
        file: PathBuf::from("chaos"),
        now: generated.start,
        config: ScenarioConfig::default(),
        promotions: generated.promotions.clone(),
        templates: generated.templates.clone(),
        onsite: generated.online.clone(),
        steps: Vec::new(),
    }
}

/// Runs the generated steps through one pipeline built of `parts`, with faults at `shares`.
async fn run_once<B, Q, P>(
    generated: &Generated,
    shares: FaultShares,
    seed: u64,
    parts: P,
) -> Result<Run, ChaosError>
where
    B: Backend,
    Q: ChaosQueues,
    P: RunParts<B, Q>,
{
    let started = Instant::now();
    let scenario = scenario(generated);
    let stand_ins = StandIns::new(&scenario);
    let faults = Faults::new(shares, seed);
    let journal = Journal::new();
    let (ports, transport) = parts.build(&stand_ins, &faults, &journal);
    let mut pipeline = Pipeline::new(
        &scenario,
        ports,
        Arc::clone(&stand_ins.onsite),
        ManualClock::new(generated.start),
        transport,
    )?;
    pipeline.set_msk_attempts(MSK_ATTEMPTS);
    let mut tally = DeadLetterTally::default();
    for (index, step) in generated.steps.iter().enumerate() {
        match step {
            ChaosStep::Activities { at, cpp, eppm } => {
                pipeline.clock().set(*at);
                pipeline
                    .feed_kafka_records(CPP_TOPIC, cpp.iter().map(headers).collect())
                    .await;
                pipeline
                    .feed_kafka_records(EPPM_TOPIC, eppm.iter().map(headers).collect())
                    .await;
                pipeline.drain().await;
            }
            ChaosStep::Online {
                account_id,
                brand,
                at,
            } => {
                pipeline.clock().set(*at);
                let value = online_value(account_id, brand, *at);
                pipeline.feed(index + 1, &Step::CustomerOnline(value)).await;
            }
            ChaosStep::Offline { account_id } => {
                let step = Step::CustomerOffline {
                    account_id: account_id.clone(),
                };
                pipeline.feed(index + 1, &step).await;
            }
        }
        tally.absorb(pipeline.take_trace());
    }
    // The outage is over: every customer comes online and gets what was kept for them.
    faults.set_enabled(false);
    pipeline.transport_mut().set_chaos(false);
    pipeline.clock().set(generated.end);
    for customer in &generated.customers {
        pipeline
            .onsite()
            .set_online(customer.account_id.clone(), true);
    }
    for chunk in generated.customers.chunks(100) {
        let values = chunk
            .iter()
            .map(|customer| {
                online_value(&customer.account_id, &customer.brand, generated.end)
                    .to_string()
                    .into_bytes()
            })
            .collect();
        pipeline.feed_kafka(ONLINE_TOPIC, values).await;
        pipeline.drain().await;
        tally.absorb(pipeline.take_trace());
    }
    let record = RunRecord::new(&stand_ins.onsite, &journal, tally, generated.end);
    Ok(Run {
        record,
        faults: faults.counts(),
        transport: pipeline.transport_mut().counts(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The report of a clean and a faulty run of the same events.
fn compare_runs(
    options: &Options,
    generated: &Generated,
    clean: Run,
    faulty: Run,
    started: Instant,
) -> ChaosReport {
    let figures = ledger::compare(&clean.record, &faulty.record, &generated.catalog);
    ChaosReport {
        events: generated.events,
        seed: options.seed,
        duplicate_share: options.duplicate_share,
        crash_share: if options.aws { 0.0 } else { CRASH_SHARE },
        fault_shares: FaultShares::DEFAULT,
        mix: generated.mix,
        shown_clean: clean.record.shown(),
        shown_faulty: faulty.record.shown(),
        figures,
        dead_lettered_clean: clean.record.dead_lettered,
        dead_lettered: faulty.record.dead_lettered,
        faults: faulty.faults,
        transport: faulty.transport,
        clean_seconds: clean.seconds,
        faulty_seconds: faulty.seconds,
        total_seconds: started.elapsed().as_secs_f64(),
    }
}

/// Runs the chaos comparison (over AWS with [`Options::aws`]: see [`aws`]).
pub async fn run(options: &Options) -> Result<ChaosReport, ChaosError> {
    if options.aws {
        return over_aws::run(options).await;
    }
    let started = Instant::now();
    let generated = generator::generate(options.events, options.seed);
    let clean = run_once(
        &generated,
        FaultShares::NONE,
        options.seed,
        InMemory {
            duplicate_share: 0.0,
            crash_share: 0.0,
            seed: options.seed,
        },
    )
    .await?;
    let faulty = run_once(
        &generated,
        FaultShares::DEFAULT,
        options.seed,
        InMemory {
            duplicate_share: options.duplicate_share,
            crash_share: CRASH_SHARE,
            seed: options.seed,
        },
    )
    .await?;
    Ok(compare_runs(options, &generated, clean, faulty, started))
}

/// `rewards chaos …`: runs, prints the report (and writes it as JSON with `--json`); exit 0
/// when nothing was lost or shown twice, 1 otherwise, 2 when it could not run.
pub async fn command(options: &Options) -> ExitCode {
    let result = run(options).await.and_then(|report| {
        if let Some(file) = &options.json {
            let text = serde_json::to_string_pretty(&report).map_err(|e| ChaosError::Write {
                file: file.clone(),
                reason: e.to_string(),
            })?;
            std::fs::write(file, text + "\n").map_err(|e| ChaosError::Write {
                file: file.clone(),
                reason: e.to_string(),
            })?;
        }
        Ok(report)
    });
    match result {
        Ok(report) => {
            print!("{}", report.readable());
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("rewards chaos: {error}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        options: Options,
    }

    fn parse(text: &str) -> Result<Options, clap::Error> {
        Command::try_parse_from(std::iter::once("chaos").chain(text.split_whitespace()))
            .map(|command| command.options)
    }

    #[test]
    fn options_have_defaults_and_reject_nonsense() {
        assert_eq!(parse("").expect("defaults"), Options::default());
        let options =
            parse("--events 10 --seed 3 --duplicate-share 0.5 --json out.json").expect("parses");
        assert_eq!(options.events, 10);
        assert_eq!(options.seed, 3);
        assert_eq!(options.duplicate_share, 0.5);
        assert_eq!(options.json, Some(PathBuf::from("out.json")));
        for (bad, named) in [
            ("--events", "--events"),
            ("--events x", "--events"),
            ("--events 0", "--events"),
            ("--duplicate-share 2", "--duplicate-share"),
            ("--what", "--what"),
        ] {
            let error = parse(bad).expect_err(bad).to_string();
            assert!(error.contains(named), "{bad}: {error}");
        }
    }
}
