//! What TIM passes on of an enriched activity: every field a later stage reads, not the ones
//! only DEC and TIM read.
//!
//! DEC enriches each progress entry with its scheme's `products`, `productRewardType` and
//! `tierDefinition` (spec section 3), and carries the promotion's `tags`; DEC reads the first
//! tier's threshold for an unqualification and TIM filters on the tags, but no later stage reads
//! any of the four: FRED filters on the message type and the activity's keys, DES decides on
//! `activityType`, `current`, `target` and `status`, BCG renders from the promotion's name and
//! URL, `rewardType` and `expirationDate`, MSQ keys on the activity. TIM's messages therefore
//! leave them out, and every later hop reads and writes a smaller body; a reader takes the
//! missing fields as empty, by the reading policy (section 3), as it would from a PPH promotion
//! without them.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::enriched::{EnrichedActivity, EnrichedProgress};

/// An enriched activity as TIM passes it on: [`EnrichedActivity`]'s JSON without `tags` and
/// without each progress entry's `products`, `productRewardType` and `tierDefinition`.
#[derive(Debug, Clone, Copy)]
pub struct PassedOn<'a>(pub &'a EnrichedActivity);

impl Serialize for PassedOn<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let activity = self.0;
        let mut out = serializer.serialize_struct("EnrichedActivity", 12)?;
        out.serialize_field("activityId", &activity.activity_id)?;
        out.serialize_field("accountId", &activity.account_id)?;
        out.serialize_field("brand", &activity.brand)?;
        out.serialize_field("promoCode", &activity.promo_code)?;
        out.serialize_field("attemptId", &activity.attempt_id)?;
        out.serialize_field("sequence", &activity.sequence)?;
        out.serialize_field("status", &activity.status)?;
        out.serialize_field("occurredAt", &activity.occurred_at)?;
        if let Some(locale) = &activity.locale {
            out.serialize_field("locale", locale)?;
        }
        out.serialize_field("promoName", &activity.promo_name)?;
        out.serialize_field("promoUrl", &activity.promo_url)?;
        out.serialize_field("rewardProgress", &Entries(&activity.reward_progress))?;
        out.end()
    }
}

/// The progress entries, each as [`Entry`].
struct Entries<'a>(&'a [EnrichedProgress]);

impl Serialize for Entries<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(Entry))
    }
}

/// One progress entry without its scheme's `products`, `productRewardType` and
/// `tierDefinition`.
struct Entry<'a>(&'a EnrichedProgress);

impl Serialize for Entry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let entry = self.0;
        let mut out = serializer.serialize_struct("EnrichedProgress", 7)?;
        out.serialize_field("rewardSchemeId", &entry.reward_scheme_id)?;
        out.serialize_field("activityType", &entry.activity_type)?;
        out.serialize_field("current", &entry.current)?;
        out.serialize_field("target", &entry.target)?;
        if !entry.status.is_absent() {
            out.serialize_field("status", &entry.status)?;
        }
        out.serialize_field("rewardType", &entry.reward_type)?;
        if let Some(expiration) = &entry.expiration_date {
            out.serialize_field("expirationDate", expiration)?;
        }
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{parse, Validate as _};
    use crate::testing::fixtures;

    /// The names TIM leaves out: the activity's, then each progress entry's.
    const LEFT_OUT: [&str; 1] = ["tags"];
    const LEFT_OUT_OF_ENTRIES: [&str; 3] = ["products", "productRewardType", "tierDefinition"];

    fn activities() -> Vec<EnrichedActivity> {
        let full = fixtures::enriched_activity();
        let mut bare = full.clone();
        bare.locale = None;
        for entry in &mut bare.reward_progress {
            entry.expiration_date = None;
            entry.status = Default::default();
        }
        let mut none = full.clone();
        none.reward_progress.clear();
        vec![full, bare, none]
    }

    #[test]
    fn the_json_is_the_full_activity_s_without_the_fields_left_out() {
        for activity in activities() {
            let mut expected = serde_json::to_value(&activity).expect("full JSON");
            let members = expected.as_object_mut().expect("an object");
            for name in LEFT_OUT {
                assert!(members.remove(name).is_some(), "{name} is written in full");
            }
            for entry in members["rewardProgress"]
                .as_array_mut()
                .expect("entries")
                .iter_mut()
            {
                let entry = entry.as_object_mut().expect("an entry");
                for name in LEFT_OUT_OF_ENTRIES {
                    assert!(entry.remove(name).is_some(), "{name} is written in full");
                }
            }
            // Every other field: a field added to the activity and not here fails this.
            let passed_on = serde_json::to_value(PassedOn(&activity)).expect("JSON");
            assert_eq!(passed_on, expected);
        }
    }

    #[test]
    fn what_is_passed_on_reads_back_as_the_activity_with_those_fields_empty() {
        for activity in activities() {
            let text = serde_json::to_string(&PassedOn(&activity)).expect("JSON");
            let read: EnrichedActivity = parse(&text).expect("reads");
            read.validate().expect("valid");
            let mut expected = activity.clone();
            expected.tags.clear();
            for entry in &mut expected.reward_progress {
                entry.products.clear();
                entry.product_reward_type.clear();
                entry.tier_definition = Default::default();
            }
            assert_eq!(read, expected);
        }
    }
}
