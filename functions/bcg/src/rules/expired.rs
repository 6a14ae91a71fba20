//! The expiry rule: BCG drops a message whose reward has expired (outcome `dropped`, reason
//! `expired`), since a customer should never be shown a reward they can no longer use.
//!
//! The reward's expiry is the latest `expirationDate` of the activity's progress entries
//! ([`EnrichedActivity::expires_at`]); a message expires at that instant, not a second later.
//! A reward that never expires (an entry without `expirationDate`) is never dropped here.

use chrono::{DateTime, Utc};
use rewards_shared::model::EnrichedActivity;

/// True when the reward of `activity` has expired at `now`.
pub fn is_expired(activity: &EnrichedActivity, now: DateTime<Utc>) -> bool {
    activity.expires_at().is_some_and(|expiry| expiry <= now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewards_shared::model::EnrichedProgress;
    use rewards_shared::testing::fixtures::{self, at, EXPIRES_AT};

    #[test]
    fn a_reward_expires_at_its_expiration_date() {
        let activity = fixtures::enriched_activity();
        assert!(!is_expired(&activity, at("2026-11-23T23:59:58Z")));
        assert!(is_expired(&activity, at(EXPIRES_AT)));
        assert!(is_expired(&activity, at("2026-11-24T00:00:00Z")));
    }

    #[test]
    fn the_latest_expiry_of_the_entries_counts() {
        let activity = EnrichedActivity {
            reward_progress: vec![
                fixtures::progress(),
                EnrichedProgress {
                    reward_scheme_id: "rs-200".into(),
                    expiration_date: Some(at("2026-12-01T00:00:00Z")),
                    ..fixtures::progress()
                },
            ],
            ..fixtures::enriched_activity()
        };
        assert!(!is_expired(&activity, at("2026-11-24T00:00:00Z")));
    }

    #[test]
    fn a_reward_that_never_expires_is_never_dropped() {
        let activity = EnrichedActivity {
            reward_progress: vec![EnrichedProgress {
                expiration_date: None,
                ..fixtures::progress()
            }],
            ..fixtures::enriched_activity()
        };
        assert!(!is_expired(&activity, at("2099-01-01T00:00:00Z")));
    }
}
