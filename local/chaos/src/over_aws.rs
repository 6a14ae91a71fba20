//! `rewards chaos --aws`: the same seeded events and the same ledger over the DynamoDB and SQS
//! adapters the functions run on, against the SDK's endpoint (`scripts/with-moto.sh` points it
//! at a local moto server; against AWS itself it refuses, see [`run`]).
//!
//! Each of the two runs (clean, faulty) gets tables and queues of its own, created as
//! `rewards run --aws` creates them (the FIFO queues FIFO, every input queue redriving to its
//! stage's dead-letter queue) and deleted afterwards. The faults are injected at the ports as
//! in memory (throttling of TIM's and MSQ's stores, partial `SendMessageBatch` failures, PPH,
//! CSL and OSG 5xx and time-outs); the queues are SQS's own: its FIFO order, deduplication,
//! visibility time-outs and redrive, polled as Lambda's event source mapping polls. The
//! transport adds no reordering or crashes of its own.

use std::sync::Arc;
use std::time::Instant;

use aws_config::SdkConfig;
use rewards_shared::ports::{
    DynamoMessageStore, DynamoTimStateStore, MemoryOnsiteGateway, MemoryPromotions,
    MemoryTemplates, SqsPublisher,
};

use super::faults::{FaultShares, Faults, Faulty};
use super::ledger::{Journal, Observed};
use super::report::ChaosReport;
use super::{compare_runs, generator, run_once, ChaosError, ChaosQueues, Options, RunParts};
use crate::chaotic_queues::TransportCounts;
use aws_runner::{AwsSettings, RunResources, SqsTransport, StageDeadLetters};
use scenario_runner::backend::{Backend, Ports};
use scenario_runner::pipeline::StandIns;

/// The ports of a chaos pipeline over AWS: the adapters behind fault wrappers, the effects
/// that matter journalled underneath.
pub struct ChaosAwsBackend;

impl Backend for ChaosAwsBackend {
    type Promotions = Faulty<Arc<MemoryPromotions>>;
    type TimStore = Faulty<Observed<DynamoTimStateStore>>;
    type Publisher = Faulty<SqsPublisher>;
    type DeadLetters = Faulty<StageDeadLetters>;
    type Templates = Faulty<Arc<MemoryTemplates>>;
    type Onsite = Faulty<Observed<Arc<MemoryOnsiteGateway>>>;
    type Store = Faulty<Observed<DynamoMessageStore>>;
}

impl ChaosQueues for SqsTransport {
    /// SQS's queues have no chaos of their own to turn off.
    fn set_chaos(&mut self, _enabled: bool) {}

    fn counts(&self) -> TransportCounts {
        TransportCounts::default()
    }
}

/// The parts of one run over its own tables and queues.
struct OverAws<'a> {
    config: &'a SdkConfig,
    settings: &'a AwsSettings,
    resources: &'a RunResources,
}

impl RunParts<ChaosAwsBackend, SqsTransport> for OverAws<'_> {
    fn build(
        self,
        stand_ins: &StandIns,
        faults: &Arc<Faults>,
        journal: &Arc<Journal>,
    ) -> (Ports<ChaosAwsBackend>, SqsTransport) {
        let dynamodb = rewards_shared::aws::dynamodb_client(self.config);
        let sqs = rewards_shared::aws::sqs_client(self.config);
        let adapters = aws_runner::backend::ports(
            &dynamodb,
            &sqs,
            self.resources,
            stand_ins,
            self.settings.tim_ttl_grace,
        );
        let ports = Ports::<ChaosAwsBackend> {
            promotions: Faulty::new(adapters.promotions, Arc::clone(faults)),
            tim_store: Faulty::new(
                Observed::new(adapters.tim_store, Arc::clone(journal)),
                Arc::clone(faults),
            ),
            publisher: Faulty::new(adapters.publisher, Arc::clone(faults)),
            dead_letters: Faulty::new(adapters.dead_letters, Arc::clone(faults)),
            templates: Faulty::new(adapters.templates, Arc::clone(faults)),
            onsite: Faulty::new(
                Observed::new(adapters.onsite, Arc::clone(journal)),
                Arc::clone(faults),
            ),
            store: Faulty::new(
                Observed::new(adapters.store, Arc::clone(journal)),
                Arc::clone(faults),
            ),
        };
        let region = self
            .config
            .region()
            .map_or_else(|| "eu-west-1".to_owned(), ToString::to_string);
        let transport = SqsTransport::new(
            sqs,
            region,
            self.resources.clone(),
            self.settings.transport.clone(),
            aws_runner::Faults::new(),
        );
        (ports, transport)
    }
}

/// One run over tables and queues made for it, deleted afterwards.
async fn run_over_aws(
    config: &SdkConfig,
    generated: &generator::Generated,
    shares: FaultShares,
    seed: u64,
) -> Result<super::Run, ChaosError> {
    let settings = AwsSettings::for_config(config);
    let dynamodb = rewards_shared::aws::dynamodb_client(config);
    let sqs = rewards_shared::aws::sqs_client(config);
    let resources = RunResources::create(&dynamodb, &sqs, &settings.prefix, &settings.queues)
        .await
        .map_err(|error| ChaosError::Aws(format!("{}: {error}", settings.prefix)))?;
    let parts = OverAws {
        config,
        settings: &settings,
        resources: &resources,
    };
    let run = run_once(generated, shares, seed, parts).await;
    let failures = resources.delete(&dynamodb, &sqs).await;
    let run = run?;
    match failures.into_iter().next() {
        None => Ok(run),
        Some(error) => Err(ChaosError::Aws(format!("{}: {error}", resources.prefix))),
    }
}

/// Runs the chaos comparison over the endpoint of `AWS_ENDPOINT_URL`. It creates and
/// deletes tables and queues and sends tens of thousands of requests, so it refuses to run
/// without a local endpoint.
pub async fn run(options: &Options) -> Result<ChaosReport, ChaosError> {
    let started = Instant::now();
    let config = rewards_shared::aws::load_sdk_config().await;
    let Some(endpoint) = config.endpoint_url() else {
        return Err(ChaosError::Aws(
            "--aws runs against a local endpoint only: set AWS_ENDPOINT_URL \
             (scripts/with-moto.sh does)"
                .into(),
        ));
    };
    eprintln!("rewards chaos: over DynamoDB and SQS at {endpoint}");
    let generated = generator::generate(options.events, options.seed);
    let clean = run_over_aws(&config, &generated, FaultShares::NONE, options.seed).await?;
    let faulty = run_over_aws(&config, &generated, FaultShares::DEFAULT, options.seed).await?;
    Ok(compare_runs(options, &generated, clean, faulty, started))
}
