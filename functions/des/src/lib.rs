//! DES: the decision service behind a Lambda function URL (spec section 5).
//!
//! `POST /decisions` with a `rewards.relevant` or `rewards.unqualification` CloudEvent
//! (structured JSON mode) answers 200 with the [`rewards_shared::model::Decision`] as JSON and
//! the header `has-decision: true|false`. Each reward progress entry whose `activityType` is
//! `FREE_SPINS`, `FREE_BET` or `GAMING_BONUS` is a decision; the delivery preference comes
//! from the message type and the brand's overrides (`DELIVERY_PREFERENCES`). The logic itself
//! lives in [`rewards_shared::decision`], so FRED's local stand-in decides exactly as DES does.
//!
//! The same route takes a JSON array of such events (the batch form FRED uses, one request per
//! SQS batch): the answer's `has-decision` header lists one flag per event (`true`, `false` or
//! `invalid`) and the body holds only the decisions of the `true` events and the reasons of the
//! `invalid` ones ([`rewards_shared::decision::batch`]).
//!
//! A malformed request is a 400 with `{"error": "…"}` naming the problem, never a 500; a wrong
//! path is a 404 and a wrong method a 405, both JSON too.
#![deny(missing_docs)]

pub mod config;
pub mod handler;

pub use config::Config;
pub use handler::Handler;
