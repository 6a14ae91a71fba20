//! A Kafka record to a validated activity, or the reason it is bad input.

use rewards_shared::kafka::Record;
use rewards_shared::model::{CppActivity, EppmActivity, InvalidInput, Validate};

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

/// Decodes, parses and validates a record by its topic.
pub fn decode(record: &Record<'_>, topics: &Topics) -> Result<Activity, InvalidInput> {
    let topic = record.topic();
    let value = record.value()?;
    if topic == topics.cpp {
        let activity: CppActivity =
            serde_json::from_str(&value).map_err(|e| InvalidInput::json(&e))?;
        activity.validate()?;
        Ok(Activity::Cpp(activity))
    } else if topic == topics.eppm {
        let activity: EppmActivity =
            serde_json::from_str(&value).map_err(|e| InvalidInput::json(&e))?;
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
        assert!(wrong_type
            .expect_err("wrong type")
            .to_string()
            .contains("invalid type"));

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

        let elsewhere = decode_value("other", CPP).expect_err("topic");
        assert!(elsewhere.to_string().contains("`other`"));

        // An EPPM record on the CPP topic lacks the CPP fields.
        assert!(decode_value("cpp", EPPM).is_err());
    }
}
