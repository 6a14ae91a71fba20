//! The data of the product contract (spec sections 3–5) as serde types.
//!
//! Field names follow the contract (camelCase on the wire). Statuses and message types are
//! closed enums: an unknown value fails to parse, and the record is `invalid-input`.

mod activity;
mod customer;
mod enriched;
mod message;
mod promotion;
mod validate;

pub use activity::{ActivityStatus, CppActivity, EppmActivity, RewardProgress};
pub use customer::CustomerOnline;
pub use enriched::{EnrichedActivity, EnrichedProgress, EnrichmentError};
pub use message::{
    DecidedMessage, Decision, DecisionKind, DeleteInstruction, DeliveryFormat, MessageType,
    OnsiteMessage, ProgressDecision, QueuedMessage, RewardMessage,
};
pub use promotion::{Promotion, RewardScheme, Tier, TierDefinition};
pub use validate::{InvalidInput, Validate};
