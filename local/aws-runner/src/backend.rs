//! [`AwsRunBackend`]: the ports of a pipeline on DynamoDB and SQS — the adapters the Lambda
//! functions use — with the in-memory stand-ins of the services other teams own (PPH, CSL,
//! OSG), built from the scenario as for the in-memory run.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use rewards_shared::ports::{
    DeadLetter, DeadLetterError, DeadLetterSink, Destination, DynamoMessageStore,
    DynamoTimStateStore, MemoryOnsiteGateway, MemoryPromotions, MemoryTemplates, Publisher,
    SqsDeadLetters, SqsPublisher,
};
use rewards_shared::stage::Stage;

use super::resources::RunResources;
use scenario_runner::backend::{Backend, Ports};
use scenario_runner::pipeline::StandIns;

/// DynamoDB behind the stores, `P` publishing and `D` taking the dead letters; the in-memory
/// stand-ins for PPH, CSL and OSG.
pub struct AwsStoresBackend<P, D>(PhantomData<(P, D)>);

impl<P: Publisher + Clone, D: DeadLetterSink + Clone> Backend for AwsStoresBackend<P, D> {
    type Promotions = Arc<MemoryPromotions>;
    type TimStore = DynamoTimStateStore;
    type Publisher = P;
    type DeadLetters = D;
    type Templates = Arc<MemoryTemplates>;
    type Onsite = Arc<MemoryOnsiteGateway>;
    type Store = DynamoMessageStore;
}

/// DynamoDB and SQS behind the stores, the publisher and the dead-letter sinks; stand-ins
/// for PPH, CSL and OSG.
pub type AwsRunBackend = AwsStoresBackend<SqsPublisher, StageDeadLetters>;

/// Each stage's dead letters to that stage's dead-letter queue (in the stack every function
/// has its own `DEAD_LETTER_QUEUE_URL`; the runner's stages share one sink, which routes by
/// the letter's stage).
#[derive(Debug, Clone)]
pub struct StageDeadLetters {
    sinks: Arc<BTreeMap<Stage, SqsDeadLetters>>,
}

impl StageDeadLetters {
    /// Sinks on the run's dead-letter queues.
    pub fn new(client: &aws_sdk_sqs::Client, resources: &RunResources) -> Self {
        StageDeadLetters {
            sinks: Arc::new(
                resources
                    .dead_letter_queues
                    .iter()
                    .map(|(stage, queue)| {
                        (
                            *stage,
                            SqsDeadLetters::new(client.clone(), queue.url.clone()),
                        )
                    })
                    .collect(),
            ),
        }
    }
}

impl DeadLetterSink for StageDeadLetters {
    async fn send(&self, letters: Vec<DeadLetter>) -> Result<(), DeadLetterError> {
        let mut by_stage: BTreeMap<Stage, Vec<DeadLetter>> = BTreeMap::new();
        for letter in letters {
            by_stage.entry(letter.stage).or_default().push(letter);
        }
        let mut sources = Vec::new();
        let mut reasons = Vec::new();
        for (stage, letters) in by_stage {
            let result = match self.sinks.get(&stage) {
                Some(sink) => sink.send(letters).await,
                None => Err(DeadLetterError {
                    sources: letters.iter().map(|l| l.source.clone()).collect(),
                    reason: format!("stage {stage} has no dead-letter queue"),
                }),
            };
            if let Err(error) = result {
                sources.extend(error.sources);
                reasons.push(error.reason);
            }
        }
        if sources.is_empty() {
            Ok(())
        } else {
            Err(DeadLetterError {
                sources,
                reason: reasons.join("; "),
            })
        }
    }
}

/// The ports of a run over `resources`: TIM's and MSQ's stores on the run's tables (TIM
/// keeping a key's state for `tim_ttl_grace` past the reward's expiry), the publisher on its
/// queues, the dead-letter sinks on its dead-letter queues, and the scenario's stand-ins.
pub fn ports(
    dynamodb: &aws_sdk_dynamodb::Client,
    sqs: &aws_sdk_sqs::Client,
    resources: &RunResources,
    stand_ins: &StandIns,
    tim_ttl_grace: chrono::Duration,
) -> Ports<AwsRunBackend> {
    let queues: Vec<(Destination, String)> = resources
        .queues
        .iter()
        .map(|(destination, queue)| (*destination, queue.url.clone()))
        .collect();
    Ports {
        promotions: Arc::clone(&stand_ins.promotions),
        tim_store: DynamoTimStateStore::new(
            dynamodb.clone(),
            resources.tim_table.clone(),
            tim_ttl_grace,
        ),
        publisher: SqsPublisher::new(sqs.clone(), queues),
        dead_letters: StageDeadLetters::new(sqs, resources),
        templates: Arc::clone(&stand_ins.templates),
        onsite: Arc::clone(&stand_ins.onsite),
        store: DynamoMessageStore::new(dynamodb.clone(), resources.msq_table.clone()),
    }
}
