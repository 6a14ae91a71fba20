//! BCG's rules of the contract (spec section 5), one file each, in the order BCG applies them:
//!
//! - [`expired`]: a message whose reward has expired is dropped (`expired`);
//! - [`no_delivery_preference`]: a message DES gave no delivery preference is dropped
//!   (`no-delivery-preference`);
//! - [`locale_fallback`]: the template of the activity's locale, else the default locale's;
//! - [`message_id`]: the onsite message's deterministic id;
//! - [`cycle_start`]: on the cycle start day a `REWARD_AWARDED` message goes to MSQ, never OSG;
//! - [`osg_or_msq`]: what OSG's answer means for the message (delivered, or queued to MSQ).
//!
//! Rendering the template's placeholders is [`crate::render`].

pub mod cycle_start;
pub mod expired;
pub mod locale_fallback;
pub mod message_id;
pub mod no_delivery_preference;
pub mod osg_or_msq;
