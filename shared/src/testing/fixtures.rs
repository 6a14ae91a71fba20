//! Test fixtures: one home for the data every stage's tests start from.
//!
//! Each builder returns a complete, valid value around one customer's weekly free-spins
//! promotion; a test changes only what it is about, with struct update syntax:
//!
//! ```ignore
//! let award = EnrichedActivity {
//!     sequence: 13,
//!     status: ActivityStatus::RewardAwarded,
//!     ..fixtures::enriched_activity()
//! };
//! ```

use aws_lambda_events::event::sqs::SqsBatchResponse;
use chrono::{DateTime, Utc};

use crate::envelope::{Envelope, EventType, StageTimestamps};
use crate::lambda_event::{SqsEvent, SqsMessage};
use crate::model::{
    ActivityStatus, EnrichedActivity, EnrichedProgress, MessageType, Promotion, RewardMessage,
    RewardScheme, TierDefinition,
};
use crate::stage::Stage;

/// The customer of the fixtures.
pub const ACCOUNT: &str = "10048213";
/// The brand of the fixtures.
pub const BRAND: &str = "skybet";
/// The promotion of the fixtures.
pub const PROMO_CODE: &str = "WEEKLY-SPINS";
/// The promotion attempt of the fixtures.
pub const ATTEMPT: &str = "2026-W47";
/// The reward scheme of the fixtures.
pub const REWARD_SCHEME: &str = "rs-100";
/// When the fixtures' activity happened (a Monday, in London too).
pub const OCCURRED_AT: &str = "2026-11-16T09:30:00Z";
/// When the fixtures' reward expires.
pub const EXPIRES_AT: &str = "2026-11-23T23:59:59Z";

/// An RFC 3339 instant; panics on a malformed literal (tests only).
pub fn at(text: &str) -> DateTime<Utc> {
    text.parse()
        .unwrap_or_else(|error| panic!("{text} is not an RFC 3339 instant: {error}"))
}

/// The reward scheme `rs-100` of [`promotion`]: free spins up to 5, expiring at [`EXPIRES_AT`].
pub fn reward_scheme() -> RewardScheme {
    RewardScheme {
        reward_scheme_id: REWARD_SCHEME.into(),
        products: vec!["casino".into()],
        reward_type: "FREE_SPINS".into(),
        product_reward_type: "CASINO_FREE_SPINS".into(),
        tier_definition: TierDefinition::from(serde_json::json!(
            {"tiers": [{"threshold": 5, "reward": "10 free spins"}]}
        )),
        expiration_date: Some(at(EXPIRES_AT)),
    }
}

/// The promotion `promo_code` as PPH serves it: tagged `tim`, one [`reward_scheme`].
pub fn promotion(promo_code: &str) -> Promotion {
    Promotion {
        promo_code: promo_code.into(),
        promo_name: "Weekly Spins".into(),
        promo_url: "https://example.test/promo".into(),
        tags: vec!["tim".into()],
        brand: BRAND.into(),
        reward_schemes: vec![reward_scheme()],
    }
}

/// One enriched progress entry of scheme `rs-100`: free spins, 3 of 5, expiring at
/// [`EXPIRES_AT`].
pub fn progress() -> EnrichedProgress {
    let scheme = reward_scheme();
    EnrichedProgress {
        reward_scheme_id: scheme.reward_scheme_id,
        activity_type: "FREE_SPINS".into(),
        current: 3,
        target: 5,
        status: ActivityStatus::InProgress.into(),
        products: scheme.products,
        reward_type: scheme.reward_type,
        product_reward_type: scheme.product_reward_type,
        tier_definition: TierDefinition::default(),
        expiration_date: scheme.expiration_date,
    }
}

/// An enriched activity as DEC emits it: [`ACCOUNT`] in progress (sequence 12) on
/// [`PROMO_CODE`], locale `en-GB`, tagged `tim`, with one [`progress`] entry.
pub fn enriched_activity() -> EnrichedActivity {
    EnrichedActivity {
        activity_id: "a-1".into(),
        account_id: ACCOUNT.into(),
        brand: BRAND.into(),
        promo_code: PROMO_CODE.into(),
        attempt_id: ATTEMPT.into(),
        sequence: 12,
        status: ActivityStatus::InProgress,
        occurred_at: at(OCCURRED_AT),
        locale: Some("en-GB".into()),
        promo_name: "Weekly Spins".into(),
        promo_url: "https://example.test/promo".into(),
        tags: vec!["tim".into()],
        reward_progress: vec![progress()],
    }
}

/// One [`progress`] entry per activity type, in order: scheme `rs-{i}`, reward type the
/// activity type (what DES decides on).
pub fn progress_of(activity_types: &[&str]) -> Vec<EnrichedProgress> {
    activity_types
        .iter()
        .enumerate()
        .map(|(i, activity_type)| EnrichedProgress {
            reward_scheme_id: format!("rs-{i}"),
            activity_type: (*activity_type).into(),
            reward_type: (*activity_type).into(),
            ..progress()
        })
        .collect()
}

/// A reward message of `message_type` about [`enriched_activity`] with one progress entry per
/// activity type ([`progress_of`]).
pub fn reward_message(message_type: MessageType, activity_types: &[&str]) -> RewardMessage {
    RewardMessage {
        message_type,
        activity: EnrichedActivity {
            reward_progress: progress_of(activity_types),
            ..enriched_activity()
        },
    }
}

/// An envelope `id` of `event_type` sent by stage `from` half a second after [`OCCURRED_AT`],
/// for [`ACCOUNT`] of [`BRAND`], correlation id `corr-{id}`.
pub fn envelope<T>(id: &str, from: Stage, event_type: EventType, data: T) -> Envelope<T> {
    let sent = at("2026-11-16T09:30:00.500Z");
    let mut timestamps = StageTimestamps::from_origin(at(OCCURRED_AT));
    timestamps.stamp(from, sent);
    Envelope {
        id: id.into(),
        source: from.source().into(),
        event_type,
        subject: ACCOUNT.into(),
        time: sent,
        brand: BRAND.into(),
        correlation_id: format!("corr-{id}"),
        timestamps,
        data,
    }
}

/// An SQS event of `messages` (Lambda's own or lean ones), as Lambda delivers a batch.
pub fn sqs_event<M: Into<SqsMessage>>(messages: impl IntoIterator<Item = M>) -> SqsEvent {
    SqsEvent::of(messages)
}

/// The message ids a batch response reports for redelivery, in order.
pub fn failed_ids(response: &SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Validate as _;

    #[test]
    fn the_fixtures_are_valid_and_agree_with_each_other() {
        let activity = enriched_activity();
        activity.validate().expect("a valid activity");
        assert_eq!(activity.expires_at(), Some(at(EXPIRES_AT)));
        let promotion = promotion(PROMO_CODE);
        assert!(promotion.scheme(REWARD_SCHEME).is_some());
        let envelope = envelope("e1", Stage::Dec, EventType::ActivityEnriched, activity);
        let decoded = Envelope::<EnrichedActivity>::decode(
            &envelope.encode().expect("encodes"),
            &[EventType::ActivityEnriched],
        )
        .expect("decodes");
        assert_eq!(decoded, envelope);
    }
}
