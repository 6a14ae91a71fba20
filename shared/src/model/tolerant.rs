//! The reading policy every input shares (spec section 3, "Reading inputs"): strict on the
//! fields a rule reads, tolerant on the rest.
//!
//! - Unknown fields are ignored (serde's default: no type here denies them).
//! - `null` is the same as an absent field: optional fields use [`null_as_default`] (or
//!   `Option`), and a `null` in a required field is reported as that field missing.
//! - Counts (`sequence`, `current`, `target`) are whole numbers, written as integers, as
//!   floats without a fraction (`5.0`) or as numeric strings (`"5"`).
//! - Informational fields ([`informational_count`], [`informational_text`], [`lenient_timestamp`])
//!   never reject a record: a value that does not read is treated as absent.
//!
//! [`parse`] is the one entry point: JSON text to a model type, with an error that names the
//! field at fault.

use chrono::{DateTime, Utc};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::validate::InvalidInput;

/// Parses `text` as `T`. On failure the reason names the field (its path, such as
/// `rewardProgress[0].current`) and what is wrong with it; a required field that is `null`
/// reads as that field missing.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, InvalidInput> {
    let deserializer = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = inner.to_string();
        let reason = if path == "." || path.is_empty() {
            format!("malformed JSON: {message}")
        } else if message.starts_with("invalid type: null") {
            format!("malformed JSON: missing field `{path}` (null)")
        } else {
            format!("malformed JSON: field `{path}`: {message}")
        };
        InvalidInput::Json(reason)
    })
}

/// A required identifier: text, or a whole number written as JSON number (`10048213` reads as
/// `"10048213"`, as some upstream services send account ids).
pub fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => Ok(text),
        Value::Number(number) if number.is_u64() || number.is_i64() => Ok(number.to_string()),
        Value::Null => Err(D::Error::custom(
            "invalid type: null, expected an identifier",
        )),
        other => Err(D::Error::custom(format!(
            "invalid type: {other}, expected an identifier (text)"
        ))),
    }
}

/// An optional identifier: as [`id`]; absent or `null` is empty.
pub fn optional_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(String::new()),
        Value::String(text) => Ok(text),
        Value::Number(number) if number.is_u64() || number.is_i64() => Ok(number.to_string()),
        other => Err(D::Error::custom(format!(
            "invalid type: {other}, expected an identifier (text)"
        ))),
    }
}

/// An optional field: absent or `null` is `T::default()`.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A required count: a whole number (integer, float without fraction, or numeric string).
pub fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = Value::deserialize(deserializer)?;
    match value {
        Value::Null => Err(D::Error::custom("invalid type: null, expected a count")),
        other => count_of(&other).ok_or_else(|| {
            D::Error::custom(format!(
                "invalid value: {other}, expected a whole number of at least 0"
            ))
        }),
    }
}

/// An optional count: absent or `null` is 0; otherwise as [`count`].
pub fn count_or_zero<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = Value::deserialize(deserializer)?;
    match value {
        Value::Null => Ok(0),
        other => count_of(&other).ok_or_else(|| {
            D::Error::custom(format!(
                "invalid value: {other}, expected a whole number of at least 0"
            ))
        }),
    }
}

/// An informational number (EPPM `week`): a number or a numeric string; anything else is
/// absent.
pub fn informational_count<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    Ok(count_of(&Value::deserialize(deserializer)?))
}

/// Informational text (EPPM `reason`): a string, or a number or boolean as written; anything
/// else is absent.
pub fn informational_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) => Some(text),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    })
}

/// An informational timestamp (`onlineAt`): RFC 3339 text; anything else is absent.
pub fn lenient_timestamp<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) => DateTime::parse_from_rfc3339(&text)
            .ok()
            .map(|at| at.with_timezone(&Utc)),
        _ => None,
    })
}

/// A whole number of at least 0 from a JSON value, if it is one.
pub(crate) fn count_of(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64().or_else(|| {
            number
                .as_f64()
                .filter(|float| float.is_finite() && *float >= 0.0 && float.fract() == 0.0)
                .filter(|float| *float <= u64::MAX as f64)
                .map(|float| float as u64)
        }),
        Value::String(text) => {
            let text = text.trim();
            text.parse::<u64>().ok().or_else(|| {
                text.parse::<f64>()
                    .ok()
                    .and_then(|float| count_of(&serde_json::json!(float)))
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        #[serde(deserialize_with = "count")]
        sequence: u64,
        #[serde(default, deserialize_with = "count_or_zero")]
        current: u64,
        #[serde(default, deserialize_with = "null_as_default")]
        tags: Vec<String>,
        #[serde(default, deserialize_with = "informational_count")]
        week: Option<u64>,
        #[serde(default, deserialize_with = "informational_text")]
        reason: Option<String>,
        #[serde(default, deserialize_with = "lenient_timestamp")]
        online_at: Option<DateTime<Utc>>,
        name: String,
    }

    #[test]
    fn nulls_are_absent_and_unknown_fields_ignored() {
        let sample: Sample = parse(
            r#"{"sequence": 3, "current": null, "tags": null, "week": null, "reason": null,
                "onlineAt": null, "name": "n", "extra": {"deep": [1, 2]}}"#,
        )
        .expect("parses");
        assert_eq!((sample.sequence, sample.current), (3, 0));
        assert_eq!(sample.name, "n");
        assert!(sample.tags.is_empty());
        assert_eq!(
            (sample.week, sample.reason, sample.online_at),
            (None, None, None)
        );
    }

    #[test]
    fn counts_are_whole_numbers_however_written() {
        for written in ["5", "5.0", "\"5\"", "\" 5 \"", "\"5.0\""] {
            let sample: Sample =
                parse(&format!(r#"{{"sequence": {written}, "name": "n"}}"#)).expect("a count");
            assert_eq!(sample.sequence, 5, "{written}");
        }
        for bad in ["5.5", "-1", "\"five\"", "true", "[]"] {
            let error = parse::<Sample>(&format!(r#"{{"sequence": {bad}, "name": "n"}}"#))
                .expect_err("not a count")
                .to_string();
            assert!(error.contains("field `sequence`"), "{bad}: {error}");
        }
    }

    #[test]
    fn informational_fields_never_reject() {
        let sample: Sample =
            parse(r#"{"sequence": 1, "name": "n", "week": "1", "reason": 7, "onlineAt": "soon"}"#)
                .expect("parses");
        assert_eq!(sample.week, Some(1));
        assert_eq!(sample.reason.as_deref(), Some("7"));
        assert_eq!(sample.online_at, None);
        let odd: Sample =
            parse(r#"{"sequence": 1, "name": "n", "week": "first"}"#).expect("parses");
        assert_eq!(odd.week, None);
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Ids {
        #[serde(deserialize_with = "id")]
        account_id: String,
        #[serde(default, deserialize_with = "optional_id")]
        activity_id: String,
    }

    #[test]
    fn identifiers_may_be_written_as_whole_numbers() {
        let ids: Ids = parse(r#"{"accountId": 10048213, "activityId": null}"#).expect("reads");
        assert_eq!(
            (ids.account_id.as_str(), ids.activity_id.as_str()),
            ("10048213", "")
        );
        for bad in ["1.5", "true", "{}", "null"] {
            let error = parse::<Ids>(&format!(r#"{{"accountId": {bad}}}"#))
                .expect_err("not an id")
                .to_string();
            assert!(error.contains("accountId"), "{bad}: {error}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        let missing = parse::<Sample>(r#"{"name": "n"}"#).expect_err("missing");
        assert!(
            missing.to_string().contains("missing field `sequence`"),
            "{missing}"
        );
        let null = parse::<Sample>(r#"{"sequence": 1, "name": null}"#).expect_err("null");
        assert!(
            null.to_string().contains("missing field `name` (null)"),
            "{null}"
        );
        let not_json = parse::<Sample>("hello").expect_err("not JSON");
        assert!(not_json.to_string().starts_with("malformed JSON"));
    }
}
