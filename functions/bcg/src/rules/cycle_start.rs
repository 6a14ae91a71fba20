//! The cycle rule: on the cycle start day a `REWARD_AWARDED` message always goes to MSQ, so a
//! new week does not open with a full-screen interruption.
//!
//! The cycle start day is the whole configured weekday (00:00 to 24:00) in the configured time
//! zone (`CYCLE_START_WEEKDAY`, default Monday; `CYCLE_START_TIME_ZONE`, default
//! Europe/London), judged at the time BCG handles the message.

use chrono::{DateTime, Datelike, Utc, Weekday};
use chrono_tz::Tz;
use rewards_shared::model::MessageType;

/// The configured cycle start day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleStart {
    /// The weekday.
    pub weekday: Weekday,
    /// The time zone the weekday is read in.
    pub time_zone: Tz,
}

impl Default for CycleStart {
    fn default() -> Self {
        CycleStart {
            weekday: Weekday::Mon,
            time_zone: chrono_tz::Europe::London,
        }
    }
}

impl CycleStart {
    /// True when `at` falls on the cycle start weekday in the configured zone.
    pub fn is_start_day(&self, at: DateTime<Utc>) -> bool {
        at.with_timezone(&self.time_zone).weekday() == self.weekday
    }

    /// True when a message of `message_type` handled at `now` must go to MSQ, not to OSG.
    pub fn holds_for_msq(&self, message_type: MessageType, now: DateTime<Utc>) -> bool {
        message_type == MessageType::RewardAwarded && self.is_start_day(now)
    }
}

/// Reads a weekday as the configuration names it: `MONDAY` … `SUNDAY` (any case; the
/// three-letter forms are accepted too).
pub fn parse_weekday(text: &str) -> Result<Weekday, String> {
    match text.trim().to_ascii_uppercase().as_str() {
        "MONDAY" | "MON" => Ok(Weekday::Mon),
        "TUESDAY" | "TUE" => Ok(Weekday::Tue),
        "WEDNESDAY" | "WED" => Ok(Weekday::Wed),
        "THURSDAY" | "THU" => Ok(Weekday::Thu),
        "FRIDAY" | "FRI" => Ok(Weekday::Fri),
        "SATURDAY" | "SAT" => Ok(Weekday::Sat),
        "SUNDAY" | "SUN" => Ok(Weekday::Sun),
        _ => Err(format!("`{text}` is not a weekday (MONDAY … SUNDAY)")),
    }
}

/// The regular expression of the time zones this build includes, when the tz database was
/// cut down (chrono-tz's `filter-by-regex`, `CHRONO_TZ_TIMEZONE_FILTER` in
/// `.cargo/config.toml`); `None` when every IANA zone is in.
pub const ZONE_FILTER: Option<&str> = option_env!("CHRONO_TZ_TIMEZONE_FILTER");

/// Reads an IANA time zone name (`Europe/London`). A zone the build does not include (see
/// [`ZONE_FILTER`]) is refused here, at configuration load, with the filter named, never
/// replaced by another zone.
pub fn parse_time_zone(text: &str) -> Result<Tz, String> {
    text.trim().parse::<Tz>().map_err(|e| match ZONE_FILTER {
        Some(filter) => format!(
            "`{text}` is not an IANA time zone this build includes: {e} (the binary carries only \
             the zones matching `{filter}`, CHRONO_TZ_TIMEZONE_FILTER in .cargo/config.toml; \
             add the zone there and rebuild)"
        ),
        None => format!("`{text}` is not an IANA time zone: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("date")
    }

    #[test]
    fn the_whole_monday_in_london_is_the_start_day() {
        let cycle = CycleStart::default();
        // 2026-11-16 is a Monday; London is on GMT in November.
        assert!(cycle.is_start_day(at("2026-11-16T00:00:00Z")));
        assert!(cycle.is_start_day(at("2026-11-16T23:59:59.999Z")));
        assert!(!cycle.is_start_day(at("2026-11-15T23:59:59.999Z")));
        assert!(!cycle.is_start_day(at("2026-11-17T00:00:00Z")));
    }

    #[test]
    fn the_day_is_read_in_the_configured_zone() {
        // Sunday 20:00 UTC is Monday 07:00 in Sydney (AEDT, UTC+11).
        let sunday_evening_utc = at("2026-11-22T20:00:00Z");
        let london = CycleStart::default();
        let sydney = CycleStart {
            weekday: Weekday::Mon,
            time_zone: parse_time_zone("Australia/Sydney").expect("zone"),
        };
        assert!(!london.is_start_day(sunday_evening_utc));
        assert!(sydney.is_start_day(sunday_evening_utc));
        // Monday 14:00 UTC is already Tuesday 01:00 in Sydney.
        let monday_afternoon_utc = at("2026-11-23T14:00:00Z");
        assert!(london.is_start_day(monday_afternoon_utc));
        assert!(!sydney.is_start_day(monday_afternoon_utc));
    }

    #[test]
    fn summer_time_moves_the_start_of_the_day() {
        let london = CycleStart::default();
        // 2026-06-15 is a Monday; London is on BST (UTC+1): Sunday 23:30 UTC is Monday 00:30.
        assert!(london.is_start_day(at("2026-06-14T23:30:00Z")));
        assert!(!london.is_start_day(at("2026-06-15T23:30:00Z")));
    }

    #[test]
    fn only_awards_are_held_for_msq() {
        let cycle = CycleStart::default();
        let monday = at("2026-11-16T09:00:00Z");
        assert!(cycle.holds_for_msq(MessageType::RewardAwarded, monday));
        for other in [
            MessageType::OptIn,
            MessageType::Progress,
            MessageType::Unqualification,
        ] {
            assert!(!cycle.holds_for_msq(other, monday));
        }
        assert!(!cycle.holds_for_msq(MessageType::RewardAwarded, at("2026-11-17T09:00:00Z")));
    }

    #[test]
    fn weekdays_and_zones_parse_or_are_named() {
        assert_eq!(parse_weekday("MONDAY"), Ok(Weekday::Mon));
        assert_eq!(parse_weekday("sunday"), Ok(Weekday::Sun));
        assert_eq!(parse_weekday("Fri"), Ok(Weekday::Fri));
        assert!(parse_weekday("MOONDAY").is_err());
        assert!(parse_time_zone("Europe/London").is_ok());
        assert!(parse_time_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn the_zones_of_the_deployments_are_in_the_build() {
        for zone in [
            "Europe/London",
            "Europe/Dublin",
            "Europe/Rome",
            "Australia/Sydney",
            "Australia/Melbourne",
            "UTC",
            "Etc/UTC",
        ] {
            assert_eq!(
                parse_time_zone(zone).map(|tz| tz.name()),
                Ok(zone),
                "{zone}"
            );
        }
    }

    #[test]
    fn a_zone_left_out_of_the_build_is_refused_by_name() {
        // A real IANA zone outside the filter: refused with the filter named, not swapped for
        // another zone. Without a filter (a build outside this workspace's .cargo/config.toml)
        // every zone is in.
        match ZONE_FILTER {
            Some(filter) => {
                let error = parse_time_zone("Asia/Tokyo").expect_err("left out");
                assert!(error.contains("Asia/Tokyo"), "{error}");
                assert!(error.contains(filter), "{error}");
                assert!(error.contains("CHRONO_TZ_TIMEZONE_FILTER"), "{error}");
            }
            None => assert!(parse_time_zone("Asia/Tokyo").is_ok()),
        }
    }
}
