//! What the runner's pipeline runs on: the ports of every stage ([`Backend`]) and the queues
//! between them ([`Transport`]).
//!
//! The in-memory backend ([`MemoryBackend`] with [`MemoryTransport`]) is the default. The
//! same [`crate::Pipeline`] runs over other backends: fault-injecting wrappers for the chaos
//! run, or DynamoDB and SQS for `rewards run --aws`.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use rewards_shared::ports::{
    DeadLetterSink, Destination, MemoryDeadLetters, MemoryMessageStore, MemoryOnsiteGateway,
    MemoryPromotions, MemoryPublisher, MemoryTemplates, MemoryTimStateStore, MessageStore,
    OnsiteGateway, OutgoingMessage, PromotionSource, PublishError, Publisher, TemplateSource,
    TimStateStore,
};

use crate::pipeline::StandIns;
use crate::queues::{Queued, Queues};
use crate::scenario::Scenario;

/// The ports every stage of a pipeline is built with.
pub trait Backend {
    /// PPH.
    type Promotions: PromotionSource;
    /// TIM's state store.
    type TimStore: TimStateStore;
    /// The publisher the stages share.
    type Publisher: Publisher + Clone;
    /// The dead-letter sink the stages share.
    type DeadLetters: DeadLetterSink + Clone;
    /// CSL.
    type Templates: TemplateSource;
    /// OSG.
    type Onsite: OnsiteGateway + Clone;
    /// MSQ's message store.
    type Store: MessageStore;
}

/// One instance of each port.
pub struct Ports<B: Backend> {
    /// PPH.
    pub promotions: B::Promotions,
    /// TIM's state store.
    pub tim_store: B::TimStore,
    /// The publisher.
    pub publisher: B::Publisher,
    /// The dead-letter sink.
    pub dead_letters: B::DeadLetters,
    /// CSL.
    pub templates: B::Templates,
    /// OSG.
    pub onsite: B::Onsite,
    /// MSQ's store.
    pub store: B::Store,
}

/// A received batch's receipt, with the queue the batch came from: what
/// [`Transport::settle`] takes back, so a batch is settled on its own queue.
pub struct BatchReceipt<R> {
    /// The queue the batch came from.
    pub destination: Destination,
    /// The transport's own record of the batch.
    pub receipt: R,
}

impl<R> BatchReceipt<R> {
    /// The receipt of a batch from `destination`'s queue.
    pub fn new(destination: Destination, receipt: R) -> Self {
        BatchReceipt {
            destination,
            receipt,
        }
    }
}

/// The queues between the stages, as Lambda's event source mappings see them.
pub trait Transport {
    /// A received batch, to settle after the handler ran.
    type Receipt;

    /// Takes in what the stages published since the last call, published at `now`.
    fn collect(&mut self, now: DateTime<Utc>) -> impl Future<Output = ()>;

    /// Receives the next batch of `destination`, as Lambda's SQS event.
    fn receive(
        &mut self,
        destination: Destination,
    ) -> impl Future<Output = Option<(SqsEvent, BatchReceipt<Self::Receipt>)>>;

    /// Deletes what succeeded of the batch and leaves the reported failures to come again;
    /// returns the messages that went to the dead-letter queue.
    fn settle(
        &mut self,
        batch: BatchReceipt<Self::Receipt>,
        response: &SqsBatchResponse,
    ) -> impl Future<Output = Vec<Queued>>;

    /// True when no message waits or is in flight anywhere.
    fn is_idle(&mut self) -> impl Future<Output = bool>;
}

/// Everything in memory: the runner's default.
pub struct MemoryBackend;

impl Backend for MemoryBackend {
    type Promotions = Arc<MemoryPromotions>;
    type TimStore = Arc<MemoryTimStateStore>;
    type Publisher = Arc<MemoryPublisher>;
    type DeadLetters = Arc<MemoryDeadLetters>;
    type Templates = Arc<MemoryTemplates>;
    type Onsite = Arc<MemoryOnsiteGateway>;
    type Store = Arc<MemoryMessageStore>;
}

/// An in-memory pipeline's parts, built once for the runner and the benchmarks alike.
pub struct InMemoryParts {
    /// The ports: the scenario's stand-ins, empty stores, the publisher feeding `transport`.
    pub ports: Ports<MemoryBackend>,
    /// The OSG stand-in, through which the runner switches customers on and offline.
    pub onsite: Arc<MemoryOnsiteGateway>,
    /// The queues between the stages.
    pub transport: MemoryTransport,
}

impl MemoryBackend {
    /// The in-memory ports and queues of `scenario`.
    pub fn parts(scenario: &Scenario) -> InMemoryParts {
        let stand_ins = StandIns::new(scenario);
        let publisher = Arc::new(MemoryPublisher::new());
        InMemoryParts {
            ports: Ports {
                promotions: stand_ins.promotions,
                tim_store: Arc::new(MemoryTimStateStore::new()),
                publisher: Arc::clone(&publisher),
                dead_letters: Arc::new(MemoryDeadLetters::new()),
                templates: stand_ins.templates,
                onsite: Arc::clone(&stand_ins.onsite),
                store: Arc::new(MemoryMessageStore::new()),
            },
            onsite: stand_ins.onsite,
            transport: MemoryTransport::new(publisher),
        }
    }
}

/// In-memory queues fed from the shared [`MemoryPublisher`].
pub struct MemoryTransport {
    publisher: Arc<MemoryPublisher>,
    queues: Queues,
}

impl MemoryTransport {
    /// Queues fed by `publisher`.
    pub fn new(publisher: Arc<MemoryPublisher>) -> Self {
        MemoryTransport {
            publisher,
            queues: Queues::new(),
        }
    }
}

impl Transport for MemoryTransport {
    type Receipt = Vec<Queued>;

    async fn collect(&mut self, now: DateTime<Utc>) {
        self.queues.accept(self.publisher.take_all(), now);
    }

    async fn receive(
        &mut self,
        destination: Destination,
    ) -> Option<(SqsEvent, BatchReceipt<Vec<Queued>>)> {
        let (event, batch) = self.queues.receive(destination)?;
        Some((event, BatchReceipt::new(destination, batch)))
    }

    async fn settle(
        &mut self,
        batch: BatchReceipt<Vec<Queued>>,
        response: &SqsBatchResponse,
    ) -> Vec<Queued> {
        self.queues
            .settle(batch.destination, batch.receipt, response)
    }

    async fn is_idle(&mut self) -> bool {
        self.queues.is_empty()
    }
}

/// A publisher that counts what it sends per destination, for the runner's account.
#[derive(Clone)]
pub struct Counting<P> {
    inner: P,
    counts: Arc<Mutex<BTreeMap<Destination, usize>>>,
}

impl<P> Counting<P> {
    /// Counts what `inner` is asked to send.
    pub fn new(inner: P) -> Self {
        Counting {
            inner,
            counts: Arc::default(),
        }
    }

    /// The counts since the last call.
    pub fn take(&self) -> BTreeMap<Destination, usize> {
        self.counts
            .lock()
            .map(|mut counts| std::mem::take(&mut *counts))
            .unwrap_or_default()
    }
}

impl<P: Publisher> Publisher for Counting<P> {
    async fn publish(&self, messages: Vec<OutgoingMessage>) -> Result<(), PublishError> {
        if let Ok(mut counts) = self.counts.lock() {
            for message in &messages {
                *counts.entry(message.destination).or_insert(0) += 1;
            }
        }
        self.inner.publish(messages).await
    }
}
