//! FRED's rules of the contract (spec section 5):
//!
//! - [`not_configured`]: its configuration names which message types and brands go on and
//!   which promo codes are excluded; other events are dropped (`not-configured`) without
//!   asking DES;
//! - no decision: an event goes on to `decided-events` only when DES's `has-decision` header
//!   is `true`; otherwise it is dropped (`no-decision`) and the body is never parsed (the DES
//!   client reads the header: `rewards_shared::http::des`, and
//!   [`crate::handler::Handler::forward`] drops it).

pub mod not_configured;
