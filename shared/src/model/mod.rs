//! The data of the product contract (spec sections 3–5) as serde types.
//!
//! Field names follow the contract (camelCase on the wire). Inputs are read by one policy
//! ([`tolerant`]): required fields as the contract lists them, `null` as absent, unknown fields
//! ignored, enum-like strings no rule reads kept as text. The activity's own status and the
//! message types are closed enums: an unknown value fails to parse, and the record is
//! `invalid-input`.

mod activity;
mod customer;
mod enriched;
mod fields;
mod message;
mod passed_on;
mod promotion;
pub mod timestamp;
pub mod tolerant;
mod validate;

pub use activity::{ActivityStatus, CppActivity, EppmActivity, ProgressStatus, RewardProgress};
pub use customer::CustomerOnline;
pub use enriched::{EnrichedActivity, EnrichedProgress, Enrichment};
pub use message::{
    DecidedMessage, Decision, DecisionKind, DeleteInstruction, DeliveryFormat, MessageType,
    OnsiteMessage, ProgressDecision, QueuedMessage, RewardMessage,
};
pub use passed_on::PassedOn;
pub use promotion::{Promotion, RewardScheme, TierDefinition};
pub use tolerant::parse;
pub use validate::{InvalidInput, Validate};
