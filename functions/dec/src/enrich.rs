//! An activity and its promotion to the CloudEvent DEC emits.

use chrono::{DateTime, Utc};
use rewards_shared::envelope::{Envelope, EventType, Latency, StageTimestamps};
use rewards_shared::ids::derived_id;
use rewards_shared::limits::MAX_ID_CHARS;
use rewards_shared::model::{
    EnrichedActivity, InvalidInput, MessageType, Promotion, RewardMessage,
};
use rewards_shared::ports::{Destination, OutgoingMessage};
use rewards_shared::stage::Stage;

use crate::decode::Activity;

/// What DEC emits for one activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emission {
    /// The message to publish.
    pub message: OutgoingMessage,
    /// Latency of the activity at DEC.
    pub latency: Latency,
    /// Progress entries kept without enrichment: their scheme is not in the promotion.
    pub unknown_schemes: Vec<String>,
}

/// Enriches `activity` with `promotion` and wraps it in the CloudEvent for its destination:
/// CPP → `rewards.activity.enriched` to `cpp-enriched-events`; EPPM → `rewards.unqualification`
/// (message type `UNQUALIFICATION`) to `relevant-unqualification-events`.
///
/// A progress entry whose scheme the promotion lacks is kept, not enriched, and listed in
/// [`Emission::unknown_schemes`] (the caller counts it); it never makes the activity invalid.
///
/// The event id is derived from the activity id, so a redelivered record yields the same
/// event; the correlation id is the record's `correlationid` header, or derived the same way
/// when the header is absent, empty, or longer than an identifier may be
/// ([`MAX_ID_CHARS`]: the header is ignored rather than the activity refused).
pub fn enrich(
    activity: Activity,
    promotion: &Promotion,
    correlation_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<Emission, InvalidInput> {
    let correlation_id = correlation_id.filter(|id| {
        let usable = !id.trim().is_empty() && id.chars().count() <= MAX_ID_CHARS;
        if !usable {
            tracing::warn!(
                chars = id.chars().count(),
                "unusable correlationid header ignored"
            );
        }
        usable
    });
    match activity {
        Activity::Cpp(cpp) => {
            let enrichment = EnrichedActivity::from_cpp(cpp, promotion);
            let enriched = enrichment.activity;
            let envelope = envelope(
                &enriched,
                EventType::ActivityEnriched,
                correlation_id,
                now,
                &enriched,
            );
            let mut emission = emission(Destination::EnrichedEvents, &envelope, &enriched, now)?;
            emission.unknown_schemes = enrichment.unknown_schemes;
            Ok(emission)
        }
        Activity::Eppm(eppm) => {
            let enriched = EnrichedActivity::from_eppm(eppm, promotion);
            let data = RewardMessage {
                message_type: MessageType::Unqualification,
                activity: &enriched,
            };
            let envelope = envelope(
                &enriched,
                EventType::Unqualification,
                correlation_id,
                now,
                data,
            );
            emission(
                Destination::UnqualificationEvents,
                &envelope,
                &enriched,
                now,
            )
        }
    }
}

fn envelope<T>(
    activity: &EnrichedActivity,
    event_type: EventType,
    correlation_id: Option<String>,
    now: DateTime<Utc>,
    data: T,
) -> Envelope<T> {
    let mut timestamps = StageTimestamps::from_origin(activity.occurred_at);
    timestamps.stamp(Stage::Dec, now);
    Envelope {
        id: derived_id(&[
            Stage::Dec.as_str(),
            event_type.as_str(),
            &activity.activity_id,
        ]),
        source: Stage::Dec.source().to_owned(),
        event_type,
        subject: activity.account_id.clone(),
        time: now,
        brand: activity.brand.clone(),
        correlation_id: correlation_id
            .unwrap_or_else(|| derived_id(&["correlation", &activity.activity_id])),
        timestamps,
        data,
    }
}

fn emission<T: serde::Serialize>(
    destination: Destination,
    envelope: &Envelope<T>,
    activity: &EnrichedActivity,
    now: DateTime<Utc>,
) -> Result<Emission, InvalidInput> {
    let origin = envelope.timestamps.origin;
    let message = OutgoingMessage::new(destination, envelope)?.in_group(
        &activity.account_id,
        &activity.promo_code,
        &activity.attempt_id,
    );
    let from_origin_ms = origin.map(|at| (now - at).num_milliseconds());
    Ok(Emission {
        message,
        latency: Latency {
            from_origin_ms,
            from_previous_ms: from_origin_ms,
        },
        unknown_schemes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewards_shared::model::{ActivityStatus, CppActivity, EppmActivity, RewardProgress};
    use rewards_shared::testing::fixtures;

    fn promotion() -> Promotion {
        fixtures::promotion(fixtures::PROMO_CODE)
    }

    fn now() -> DateTime<Utc> {
        "2026-11-16T09:30:02.000Z".parse().expect("date")
    }

    fn cpp() -> CppActivity {
        CppActivity {
            activity_id: "a-1".into(),
            account_id: "10048213".into(),
            brand: "skybet".into(),
            promo_code: "WEEKLY-SPINS".into(),
            attempt_id: "2026-W47".into(),
            sequence: 12,
            status: ActivityStatus::InProgress,
            occurred_at: "2026-11-16T09:30:00.000Z".parse().expect("date"),
            locale: Some("en-GB".into()),
            reward_progress: vec![RewardProgress {
                reward_scheme_id: "rs-100".into(),
                activity_type: "FREE_SPINS".into(),
                current: 3,
                target: 5,
                status: "IN_PROGRESS".into(),
            }],
        }
    }

    #[test]
    fn cpp_goes_enriched_to_tim_with_origin_and_dec_timestamps() {
        let emission = enrich(Activity::Cpp(cpp()), &promotion(), None, now()).expect("enriched");
        assert_eq!(emission.message.destination, Destination::EnrichedEvents);
        assert_eq!(emission.latency.from_origin_ms, Some(2000));
        let envelope = Envelope::<EnrichedActivity>::decode(
            &emission.message.body,
            &[EventType::ActivityEnriched],
        )
        .expect("a CloudEvent");
        assert_eq!(envelope.subject, "10048213");
        assert_eq!(envelope.timestamps.origin, Some(cpp().occurred_at));
        assert_eq!(envelope.timestamps.at(Stage::Dec), Some(now()));
        assert_eq!(
            envelope.data.reward_progress[0].product_reward_type,
            "CASINO_FREE_SPINS"
        );
        assert_eq!(envelope.data.promo_name, "Weekly Spins");
    }

    #[test]
    fn ids_are_deterministic_and_the_header_correlation_id_is_kept() {
        let first = enrich(Activity::Cpp(cpp()), &promotion(), None, now()).expect("enriched");
        let again = enrich(Activity::Cpp(cpp()), &promotion(), None, now()).expect("enriched");
        assert_eq!(first.message.id, again.message.id);
        assert_eq!(first.message.correlation_id, again.message.correlation_id);
        let with_header = enrich(
            Activity::Cpp(cpp()),
            &promotion(),
            Some("corr-9".into()),
            now(),
        )
        .expect("enriched");
        assert_eq!(with_header.message.correlation_id, "corr-9");
        for unusable in ["", "  ", &"c".repeat(MAX_ID_CHARS + 1)] {
            let ignored = enrich(
                Activity::Cpp(cpp()),
                &promotion(),
                Some(unusable.to_owned()),
                now(),
            )
            .expect("enriched");
            assert_eq!(
                ignored.message.correlation_id, first.message.correlation_id,
                "an unusable header is ignored"
            );
        }
    }

    #[test]
    fn eppm_goes_as_an_unqualification_to_fred() {
        let eppm = EppmActivity {
            event_id: "e-1".into(),
            account_id: "10048213".into(),
            brand: "skybet".into(),
            promo_code: "WEEKLY-SPINS".into(),
            attempt_id: "2026-W47".into(),
            week: Some(1),
            reason: Some("NO_QUALIFYING_BET".into()),
            occurred_at: "2026-11-16T09:30:00.000Z".parse().expect("date"),
            locale: None,
        };
        let emission = enrich(Activity::Eppm(eppm), &promotion(), None, now()).expect("enriched");
        assert_eq!(
            emission.message.destination,
            Destination::UnqualificationEvents
        );
        let envelope = Envelope::<RewardMessage>::decode(
            &emission.message.body,
            &[EventType::Unqualification],
        )
        .expect("a CloudEvent");
        assert_eq!(envelope.data.message_type, MessageType::Unqualification);
        let progress = &envelope.data.activity.reward_progress[0];
        assert_eq!(
            (
                progress.activity_type.as_str(),
                progress.current,
                progress.target
            ),
            ("FREE_SPINS", 0, 5)
        );
    }

    #[test]
    fn an_unknown_reward_scheme_is_kept_and_reported() {
        let mut activity = cpp();
        activity.reward_progress.push(RewardProgress {
            reward_scheme_id: "rs-404".into(),
            ..activity.reward_progress[0].clone()
        });
        let emission =
            enrich(Activity::Cpp(activity), &promotion(), None, now()).expect("not invalid");
        assert_eq!(emission.unknown_schemes, vec!["rs-404"]);
        let envelope = Envelope::<EnrichedActivity>::decode(
            &emission.message.body,
            &[EventType::ActivityEnriched],
        )
        .expect("a CloudEvent");
        let entries = &envelope.data.reward_progress;
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].reward_type, "FREE_SPINS");
        assert_eq!(entries[1].reward_type, "", "not enriched");
    }
}
