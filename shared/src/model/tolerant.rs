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

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{DeserializeOwned, MapAccess, SeqAccess, Visitor};
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
    deserializer.deserialize_any(IdVisitor { optional: false })
}

/// An optional identifier: as [`id`]; absent or `null` is empty.
pub fn optional_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    deserializer.deserialize_any(IdVisitor { optional: true })
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
    deserializer.deserialize_any(CountVisitor { or_zero: false })
}

/// An optional count: absent or `null` is 0; otherwise as [`count`].
pub fn count_or_zero<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    deserializer.deserialize_any(CountVisitor { or_zero: true })
}

/// Reads an identifier ([`id`], [`optional_id`]) straight from the input.
struct IdVisitor {
    /// `null` reads as empty (else it is an error).
    optional: bool,
}

impl IdVisitor {
    /// The error of a value that is not an identifier, showing it as JSON.
    fn not_an_id<E: serde::de::Error>(value: Value) -> E {
        E::custom(format!(
            "invalid type: {value}, expected an identifier (text)"
        ))
    }
}

impl<'de> Visitor<'de> for IdVisitor {
    type Value = String;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an identifier (text)")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<String, E> {
        if self.optional {
            Ok(String::new())
        } else {
            Err(E::custom("invalid type: null, expected an identifier"))
        }
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<String, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_str<E>(self, text: &str) -> Result<String, E> {
        Ok(text.to_owned())
    }

    fn visit_string<E>(self, text: String) -> Result<String, E> {
        Ok(text)
    }

    fn visit_u64<E>(self, number: u64) -> Result<String, E> {
        Ok(number.to_string())
    }

    fn visit_i64<E>(self, number: i64) -> Result<String, E> {
        Ok(number.to_string())
    }

    fn visit_f64<E: serde::de::Error>(self, float: f64) -> Result<String, E> {
        Err(Self::not_an_id(Json::Float(float).into_value()))
    }

    fn visit_bool<E: serde::de::Error>(self, flag: bool) -> Result<String, E> {
        Err(Self::not_an_id(Value::Bool(flag)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<String, A::Error> {
        Err(Self::not_an_id(Value::deserialize(
            SeqAccessDeserializer::new(seq),
        )?))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<String, A::Error> {
        Err(Self::not_an_id(Value::deserialize(
            MapAccessDeserializer::new(map),
        )?))
    }
}

/// Reads a count ([`count`], [`count_or_zero`]) straight from the input.
struct CountVisitor {
    /// `null` reads as 0 (else it is an error).
    or_zero: bool,
}

impl CountVisitor {
    /// The error of a value that is not a count, showing it as JSON.
    fn not_a_count<E: serde::de::Error>(value: Value) -> E {
        E::custom(format!(
            "invalid value: {value}, expected a whole number of at least 0"
        ))
    }
}

impl<'de> Visitor<'de> for CountVisitor {
    type Value = u64;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a whole number of at least 0")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<u64, E> {
        if self.or_zero {
            Ok(0)
        } else {
            Err(E::custom("invalid type: null, expected a count"))
        }
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<u64, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<u64, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_u64<E>(self, number: u64) -> Result<u64, E> {
        Ok(number)
    }

    fn visit_i64<E: serde::de::Error>(self, number: i64) -> Result<u64, E> {
        u64::try_from(number).map_err(|_| Self::not_a_count(Value::from(number)))
    }

    fn visit_f64<E: serde::de::Error>(self, float: f64) -> Result<u64, E> {
        count_of_float(float).ok_or_else(|| Self::not_a_count(Json::Float(float).into_value()))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<u64, E> {
        count_of_text(text).ok_or_else(|| Self::not_a_count(Value::from(text)))
    }

    fn visit_bool<E: serde::de::Error>(self, flag: bool) -> Result<u64, E> {
        Err(Self::not_a_count(Value::Bool(flag)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<u64, A::Error> {
        Err(Self::not_a_count(Value::deserialize(
            SeqAccessDeserializer::new(seq),
        )?))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<u64, A::Error> {
        Err(Self::not_a_count(Value::deserialize(
            MapAccessDeserializer::new(map),
        )?))
    }
}

/// An informational number (EPPM `week`): a number or a numeric string; anything else is
/// absent.
pub fn informational_count<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    Ok(Json::read(deserializer)?.count())
}

/// Informational text (EPPM `reason`): a string, or a number or boolean as written; anything
/// else is absent.
pub fn informational_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(match Json::read(deserializer)? {
        Json::Text(text) => Some(text.into_owned()),
        number @ (Json::Unsigned(_) | Json::Signed(_) | Json::Float(_)) => {
            Some(number.into_value().to_string())
        }
        Json::Bool(flag) => Some(flag.to_string()),
        Json::Null | Json::Compound(_) => None,
    })
}

/// An informational timestamp (`onlineAt`): RFC 3339 text; anything else is absent.
pub fn lenient_timestamp<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(match Json::read(deserializer)? {
        Json::Text(text) => DateTime::parse_from_rfc3339(&text)
            .ok()
            .map(|at| at.with_timezone(&Utc)),
        _ => None,
    })
}

/// A whole number of at least 0 from a JSON value, if it is one.
pub(crate) fn count_of(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number
            .as_u64()
            .or_else(|| number.as_f64().and_then(count_of_float)),
        Value::String(text) => count_of_text(text),
        _ => None,
    }
}

/// A float as a count: finite, at least 0, without fraction, within `u64`.
fn count_of_float(float: f64) -> Option<u64> {
    Some(float)
        .filter(|float| float.is_finite() && *float >= 0.0 && float.fract() == 0.0)
        .filter(|float| *float <= u64::MAX as f64)
        .map(|float| float as u64)
}

/// A numeric string as a count: an integer, or a float as [`count_of_float`] reads it;
/// surrounding whitespace is ignored.
fn count_of_text(text: &str) -> Option<u64> {
    let text = text.trim();
    text.parse::<u64>()
        .ok()
        .or_else(|| text.parse::<f64>().ok().and_then(count_of_float))
}

/// One JSON value as the informational readers see it, read without building a
/// `serde_json::Value` for the common case: a scalar is kept as read (text borrowed from the
/// input where it can be); only an array or object is built into a tree.
enum Json<'de> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A non-negative integer.
    Unsigned(u64),
    /// A negative integer.
    Signed(i64),
    /// A number with a fraction or an exponent (or an integer too large for 64 bits).
    Float(f64),
    /// A string.
    Text(Cow<'de, str>),
    /// An array or object.
    Compound(Value),
}

impl<'de> Json<'de> {
    /// Reads the next value of `deserializer`.
    fn read<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }

    /// The value as a count, as [`count_of`] reads its JSON.
    fn count(&self) -> Option<u64> {
        match self {
            Json::Unsigned(number) => Some(*number),
            Json::Signed(number) => u64::try_from(*number).ok(),
            Json::Float(float) => count_of_float(*float),
            Json::Text(text) => count_of_text(text),
            Json::Null | Json::Bool(_) | Json::Compound(_) => None,
        }
    }

    /// The value as a JSON tree (for messages: its `Display` is the value's JSON).
    fn into_value(self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(flag) => Value::Bool(flag),
            Json::Unsigned(number) => Value::from(number),
            Json::Signed(number) => Value::from(number),
            // JSON has no non-finite numbers: `from_f64` gives none only for those.
            Json::Float(float) => serde_json::Number::from_f64(float)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Json::Text(text) => Value::String(text.into_owned()),
            Json::Compound(value) => value,
        }
    }
}

/// Reads any JSON value into a [`Json`].
struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        Json::read(deserializer)
    }

    fn visit_bool<E>(self, flag: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(flag))
    }

    fn visit_u64<E>(self, number: u64) -> Result<Self::Value, E> {
        Ok(Json::Unsigned(number))
    }

    fn visit_i64<E>(self, number: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(number).map_or(Json::Signed(number), Json::Unsigned))
    }

    fn visit_f64<E>(self, float: f64) -> Result<Self::Value, E> {
        Ok(Json::Float(float))
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Json::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Json::Text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E>(self, text: String) -> Result<Self::Value, E> {
        Ok(Json::Text(Cow::Owned(text)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Json::Compound)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Json::Compound)
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
    fn errors_show_the_value_as_json() {
        // The reason without serde_json's position (` at line 1 column 18`).
        let without_position = |reason: String| match reason.rsplit_once(" at line ") {
            Some((reason, _)) => reason.to_owned(),
            None => reason,
        };
        let reason =
            |text: &str| without_position(parse::<Ids>(text).expect_err("rejected").to_string());
        assert_eq!(
            reason(r#"{"accountId": 1.5}"#),
            "malformed JSON: field `accountId`: invalid type: 1.5, expected an identifier (text)"
        );
        assert!(
            reason(r#"{"accountId": {"k": [true]}}"#).contains(r#"invalid type: {"k":[true]}"#),
            "objects show as JSON"
        );
        let reason =
            |text: &str| without_position(parse::<Sample>(text).expect_err("rejected").to_string());
        assert_eq!(
            reason(r#"{"sequence": "five", "name": "n"}"#),
            "malformed JSON: field `sequence`: invalid value: \"five\", expected a whole number \
             of at least 0"
        );
        assert_eq!(
            reason(r#"{"sequence": 1, "current": [1], "name": "n"}"#),
            "malformed JSON: field `current`: invalid value: [1], expected a whole number of at \
             least 0"
        );
        assert_eq!(
            reason(r#"{"sequence": -2.0, "name": "n"}"#),
            "malformed JSON: field `sequence`: invalid value: -2.0, expected a whole number of \
             at least 0"
        );
    }

    #[test]
    fn escaped_and_borrowed_text_read_alike() {
        let sample: Sample = parse(
            r#"{"sequence": "\u0035", "name": "n", "reason": "caf\u00e9",
                "onlineAt": "2026-11-30T06:00:00\u005a", "week": 2.0}"#,
        )
        .expect("parses");
        assert_eq!(sample.sequence, 5);
        assert_eq!(sample.reason.as_deref(), Some("café"));
        assert_eq!(
            sample.online_at.map(|at| at.to_rfc3339()),
            Some("2026-11-30T06:00:00+00:00".to_owned())
        );
        assert_eq!(sample.week, Some(2));
        let ids: Ids = parse(r#"{"accountId": -7, "activityId": "a\"b"}"#).expect("reads");
        assert_eq!(
            (ids.account_id.as_str(), ids.activity_id.as_str()),
            ("-7", "a\"b")
        );
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
