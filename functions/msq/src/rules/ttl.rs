//! The TTL rule: a queued message (and a tombstone) is kept until its reward's expiry; one
//! whose reward never expires is kept for the configured maximum (`MAX_MESSAGE_TTL_DAYS`), so
//! no item lives forever.

use chrono::{DateTime, Duration, Utc};

/// When the store may let an item go: its own expiry, else `now` plus `max_ttl` (`None` only
/// if that overflows the calendar).
pub fn bounded_expiry(
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    max_ttl: Duration,
) -> Option<DateTime<Utc>> {
    expires_at.or_else(|| now.checked_add_signed(max_ttl))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewards_shared::testing::fixtures::at;

    #[test]
    fn the_reward_expiry_wins_and_the_maximum_bounds_the_rest() {
        let now = at("2026-11-16T09:30:00Z");
        let expiry = at("2026-11-23T23:59:59Z");
        assert_eq!(
            bounded_expiry(Some(expiry), now, Duration::days(30)),
            Some(expiry)
        );
        assert_eq!(
            bounded_expiry(None, now, Duration::days(30)),
            Some(at("2026-12-16T09:30:00Z"))
        );
    }
}
