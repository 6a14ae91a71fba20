//! A Kafka record to a validated activity, or the reason it is bad input.

use rewards_shared::kafka::Record;
use rewards_shared::model::{self, CppActivity, EppmActivity, InvalidInput, Validate};

/// An activity read from one of DEC's topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    /// From the CPP topic.
    Cpp(CppActivity),
    /// From the EPPM topic.
    Eppm(EppmActivity),
}

impl Activity {
    /// The promotion it belongs to.
    pub fn promo_code(&self) -> &str {
        match self {
            Activity::Cpp(activity) => &activity.promo_code,
            Activity::Eppm(activity) => &activity.promo_code,
        }
    }

    /// The customer.
    pub fn account_id(&self) -> &str {
        match self {
            Activity::Cpp(activity) => &activity.account_id,
            Activity::Eppm(activity) => &activity.account_id,
        }
    }
}

/// Which topic carries which kind of activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    /// CPP activities.
    pub cpp: String,
    /// EPPM activities.
    pub eppm: String,
}

/// Decodes, parses (by the model's reading policy, [`model::tolerant`]) and validates a record
/// by its topic. An activity without its id gets one derived from its content.
pub fn decode(record: &Record<'_>, topics: &Topics) -> Result<Activity, InvalidInput> {
    let topic = record.topic();
    let value = record.value()?;
    if topic == topics.cpp {
        let mut activity: CppActivity = model::parse(&value)?;
        activity.derive_missing_id();
        activity.validate()?;
        Ok(Activity::Cpp(activity))
    } else if topic == topics.eppm {
        let mut activity: EppmActivity = model::parse(&value)?;
        activity.derive_missing_id();
        activity.validate()?;
        Ok(Activity::Eppm(activity))
    } else {
        Err(InvalidInput::Mismatch(format!(
            "record from topic `{topic}`, which is neither the CPP nor the EPPM topic"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewards_shared::kafka::{encode_event, encode_record, records};

    fn topics() -> Topics {
        Topics {
            cpp: "cpp".into(),
            eppm: "eppm".into(),
        }
    }

    fn decode_value(topic: &str, value: &str) -> Result<Activity, InvalidInput> {
        let event = encode_event(vec![encode_record(topic, 0, 0, value.as_bytes(), &[])]);
        let records = records(&event);
        decode(&records[0], &topics())
    }

    const CPP: &str = r#"{"activityId": "a", "accountId": "1", "brand": "skybet", "promoCode": "P",
        "attemptId": "W", "sequence": 1, "status": "OPTED_IN", "occurredAt": "2026-11-16T09:30:00.000Z"}"#;
    const EPPM: &str = r#"{"eventId": "e", "accountId": "1", "brand": "skybet", "promoCode": "P",
        "attemptId": "W", "week": 1, "reason": "NO_QUALIFYING_BET", "occurredAt": "2026-11-16T09:30:00.000Z"}"#;

    #[test]
    fn optional_fields_may_be_absent_or_null() {
        let lean = r#"{"accountId": "1", "promoCode": "P", "attemptId": "W", "sequence": 1,
            "status": "IN_PROGRESS", "occurredAt": "2026-11-16T09:30:00.000Z",
            "activityId": null, "brand": null, "locale": null, "rewardProgress": null}"#;
        let Ok(Activity::Cpp(activity)) = decode_value("cpp", lean) else {
            panic!("a lean CPP activity reads");
        };
        assert!(activity.reward_progress.is_empty());
        let Ok(Activity::Cpp(again)) = decode_value("cpp", lean) else {
            panic!("reads again");
        };
        assert!(!activity.activity_id.is_empty());
        assert_eq!(
            activity.activity_id, again.activity_id,
            "derived the same way"
        );

        let eppm = r#"{"accountId": "1", "promoCode": "P", "attemptId": "W", "week": "1",
            "occurredAt": "2026-11-16T09:30:00.000Z"}"#;
        let Ok(Activity::Eppm(eppm)) = decode_value("eppm", eppm) else {
            panic!("a lean EPPM activity reads");
        };
        assert_eq!((eppm.week, eppm.reason), (Some(1), None));
        assert!(!eppm.event_id.is_empty());
    }

    #[test]
    fn progress_statuses_are_free_text() {
        for status in ["\"COMPLETED\"", "\"ACTIVE\"", "null"] {
            let text = CPP.replace(
                "\"sequence\": 1,",
                &format!(
                    "\"sequence\": 1, \"rewardProgress\": [{{\"rewardSchemeId\": \"rs\", \"status\": {status}}}],"
                ),
            );
            assert!(
                matches!(decode_value("cpp", &text), Ok(Activity::Cpp(_))),
                "{status}"
            );
        }
    }

    #[test]
    fn topic_decides_the_kind() {
        assert!(matches!(decode_value("cpp", CPP), Ok(Activity::Cpp(_))));
        assert!(matches!(decode_value("eppm", EPPM), Ok(Activity::Eppm(_))));
    }

    #[test]
    fn each_bad_input_is_named() {
        let not_json = decode_value("cpp", "hello")
            .expect_err("not json")
            .to_string();
        assert!(not_json.starts_with("malformed JSON"), "{not_json}");

        let missing =
            decode_value("cpp", &CPP.replace("\"sequence\": 1,", "")).expect_err("missing");
        assert!(
            missing.to_string().contains("missing field `sequence`"),
            "{missing}"
        );

        let wrong_type = decode_value(
            "cpp",
            &CPP.replace("\"sequence\": 1", "\"sequence\": \"one\""),
        );
        let wrong_type = wrong_type.expect_err("wrong type").to_string();
        assert!(wrong_type.contains("field `sequence`"), "{wrong_type}");

        let null = decode_value("cpp", &CPP.replace("\"P\"", "null")).expect_err("null");
        assert!(
            null.to_string().contains("missing field `promoCode`"),
            "{null}"
        );

        let unknown = decode_value("cpp", &CPP.replace("OPTED_IN", "WON")).expect_err("status");
        assert!(
            unknown.to_string().contains("unknown variant `WON`"),
            "{unknown}"
        );

        let empty = decode_value(
            "cpp",
            &CPP.replace("\"accountId\": \"1\"", "\"accountId\": \"\""),
        );
        assert_eq!(empty, Err(InvalidInput::EmptyField { field: "accountId" }));

        let progress = CPP.replace(
            "\"sequence\": 1,",
            "\"sequence\": 1, \"rewardProgress\": [{\"current\": 1}],",
        );
        let no_scheme = decode_value("cpp", &progress).expect_err("no scheme id");
        assert!(
            no_scheme.to_string().contains("rewardSchemeId"),
            "{no_scheme}"
        );

        let elsewhere = decode_value("other", CPP).expect_err("topic");
        assert!(elsewhere.to_string().contains("`other`"));

        // An EPPM record on the CPP topic lacks the CPP fields.
        assert!(decode_value("cpp", EPPM).is_err());
    }
}
