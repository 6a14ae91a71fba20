//! The ports: small traits the stage logic talks through, with no AWS types in them.
//!
//! Each port has an in-memory implementation beside it (used by unit tests, the local runner
//! and the chaos run) and, where production needs one, an AWS implementation beside that.
//! Async methods return `Send` futures so handlers can run records concurrently on tokio.

pub mod clock;
pub mod common;
pub mod dead_letter;
pub mod decisions;
pub mod message_store;
pub mod onsite;
pub mod outcomes;
pub mod promotions;
pub mod publisher;
pub mod templates;
pub mod tim_state;

pub use clock::{Clock, ManualClock, SystemClock};
pub use common::CommonPorts;
#[cfg(feature = "sqs")]
pub use dead_letter::SqsDeadLetters;
pub use dead_letter::{DeadLetter, DeadLetterError, DeadLetterSink, MemoryDeadLetters};
pub use decisions::{
    decide_alone_or_in_chunks, Asked, DecisionError, DecisionService, DesRequests, LocalDecisions,
};
#[cfg(feature = "dynamodb")]
pub use message_store::DynamoMessageStore;
pub use message_store::{
    ItemState, MemoryMessageStore, MessageStore, MessageStoreError, PendingQuery, PutResult,
    TombstoneResult,
};
pub use onsite::{Delivery, MemoryOnsiteGateway, OnsiteError, OnsiteGateway};
pub use outcomes::{DropReason, LogOutcomes, MemoryOutcomes, Outcome, OutcomeSink};
pub use promotions::{CachedPromotions, MemoryPromotions, PromotionError, PromotionSource};
#[cfg(feature = "sqs")]
pub use publisher::SqsPublisher;
pub use publisher::{
    group_id, Destination, FailedMessage, MemoryPublisher, OutgoingMessage, PublishError, Publisher,
};
pub use templates::{
    CachedTemplates, MemoryTemplates, Template, TemplateError, TemplateQuery, TemplateSource,
};
#[cfg(feature = "dynamodb")]
pub use tim_state::DynamoTimStateStore;
pub use tim_state::{
    MemoryTimStateStore, RewardState, StateKey, StateUpdate, StoredState, TimStateError,
    TimStateStore, WriteResult,
};
