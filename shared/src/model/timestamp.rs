//! The instants of the model types (`occurredAt`, `expirationDate`, `expiresAt`) read and
//! written as chrono's serde support reads and writes them, faster on the common shape.
//!
//! chrono reads RFC 3339 text with its general-purpose (relaxed) parser and writes it through
//! `fmt`; every stage reads and writes several instants per event. Here the common shape,
//! `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` with at most nine fraction digits, is read
//! directly, and an instant of the years 0–9999 is written directly; anything else (another
//! shape, a leap second, an invalid date) goes to chrono itself, so the accepted inputs, the
//! errors and the text written are chrono's.
//!
//! Use as `#[serde(with = "timestamp")]`, or `timestamp::option` for an `Option`.
//! [`read_rfc3339`] and [`format_millis`] offer the same two paths to code that reads or
//! writes instants as text outside serde (for example the envelope's stage timestamps).

use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc};
use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// Writes `at` as chrono does (`2026-11-30T06:00:00Z`, the fraction in 3, 6 or 9 digits when
/// there is one).
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    with_text(*at, Fraction::AutoSi, |text| serializer.serialize_str(text))
}

/// Reads an instant as chrono does (RFC 3339 text, any offset, converted to UTC).
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(InstantVisitor)
}

/// The same for an optional instant: `null` is none.
pub mod option {
    use super::*;

    /// Writes `Some` as [`serialize`](super::serialize), `None` as `null`.
    pub fn serialize<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Reads `null` as none, anything else as [`deserialize`](super::deserialize).
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        deserializer.deserialize_option(OptionVisitor)
    }

    /// Reads an optional instant.
    struct OptionVisitor;

    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("an RFC 3339 formatted date and time string or null")
        }

        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            super::deserialize(deserializer).map(Some)
        }
    }
}

/// Reads RFC 3339 text.
struct InstantVisitor;

impl Visitor<'_> for InstantVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // chrono's words, so that a value of another type reads as with chrono.
        formatter.write_str("an RFC 3339 formatted date and time string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        match read(text) {
            Some(at) => Ok(at),
            None => text
                .parse::<DateTime<FixedOffset>>()
                .map(|at| at.with_timezone(&Utc))
                .map_err(E::custom),
        }
    }
}

/// The instant of RFC 3339 text as `DateTime::parse_from_rfc3339` (chrono's strict parser,
/// which the CloudEvents SDK uses for `time`) reads it, in UTC: the common shape read here,
/// anything else by chrono. `None` when chrono refuses it.
pub fn parse_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    read(text).or_else(|| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| at.with_timezone(&Utc))
    })
}

/// Appends `at` as chrono's `to_rfc3339_opts(…, true)` writes it with `fraction` (UTC, `Z`).
pub fn append(out: &mut Vec<u8>, at: DateTime<Utc>, fraction: Fraction) {
    with_text(at, fraction, |text| out.extend_from_slice(text.as_bytes()));
}

/// The instant of RFC 3339 text of the common shape (see the module documentation), as
/// `DateTime::parse_from_rfc3339` reads it, converted to UTC; `None` for any other text, which
/// the caller then reads with chrono (that gives its result and error for every input).
pub fn read_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    read(text)
}

/// `at` as `at.to_rfc3339_opts(SecondsFormat::Millis, true)` writes it
/// (`2026-11-30T06:00:00.000Z`), without chrono's formatter for the years 0–9999.
pub fn format_millis(at: DateTime<Utc>) -> String {
    with_text(at, Fraction::Millis, str::to_owned)
}

/// Hands `use_text` the text of `at` with `fraction`, as chrono's `to_rfc3339_opts(…, true)`
/// writes it: written here for the years 0–9999 without a leap second, by chrono otherwise.
fn with_text<R>(at: DateTime<Utc>, fraction: Fraction, use_text: impl FnOnce(&str) -> R) -> R {
    let mut buffer = [0u8; MAX_WRITTEN];
    match write(&at, fraction, &mut buffer) {
        Some(text) => use_text(text),
        None => use_text(&at.to_rfc3339_opts(fraction.chrono(), true)),
    }
}

/// How the fraction of a second is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fraction {
    /// As chrono's `SecondsFormat::AutoSi` (its serde format): none when 0, else 3, 6 or 9
    /// digits, the fewest that are exact.
    AutoSi,
    /// As `SecondsFormat::Millis`: always 3 digits, truncated.
    Millis,
}

impl Fraction {
    /// chrono's name for it.
    fn chrono(self) -> chrono::SecondsFormat {
        match self {
            Fraction::AutoSi => chrono::SecondsFormat::AutoSi,
            Fraction::Millis => chrono::SecondsFormat::Millis,
        }
    }
}

/// The longest text [`write`] writes: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const MAX_WRITTEN: usize = 30;

/// `at` as chrono writes it with `fraction` and `Z`, for the years 0–9999 and no leap second;
/// `None` otherwise.
fn write<'a>(
    at: &DateTime<Utc>,
    fraction: Fraction,
    buffer: &'a mut [u8; MAX_WRITTEN],
) -> Option<&'a str> {
    let year = u32::try_from(at.year()).ok().filter(|year| *year <= 9999)?;
    let nano = at.nanosecond();
    if nano >= 1_000_000_000 {
        return None;
    }
    let mut out = Digits { buffer, len: 0 };
    out.number(year, 4);
    out.byte(b'-');
    out.number(at.month(), 2);
    out.byte(b'-');
    out.number(at.day(), 2);
    out.byte(b'T');
    out.number(at.hour(), 2);
    out.byte(b':');
    out.number(at.minute(), 2);
    out.byte(b':');
    out.number(at.second(), 2);
    match fraction {
        Fraction::AutoSi if nano == 0 => {}
        Fraction::AutoSi if nano.is_multiple_of(1_000_000) => {
            out.byte(b'.');
            out.number(nano / 1_000_000, 3);
        }
        Fraction::AutoSi if nano.is_multiple_of(1_000) => {
            out.byte(b'.');
            out.number(nano / 1_000, 6);
        }
        Fraction::AutoSi => {
            out.byte(b'.');
            out.number(nano, 9);
        }
        Fraction::Millis => {
            out.byte(b'.');
            out.number(nano / 1_000_000, 3);
        }
    }
    out.byte(b'Z');
    let len = out.len;
    // Only ASCII digits and separators were written.
    std::str::from_utf8(&buffer[..len]).ok()
}

/// A buffer written left to right.
struct Digits<'a> {
    buffer: &'a mut [u8; MAX_WRITTEN],
    len: usize,
}

impl Digits<'_> {
    fn byte(&mut self, byte: u8) {
        self.buffer[self.len] = byte;
        self.len += 1;
    }

    /// `value` in decimal, zero-padded to `width` digits (it has at most that many).
    fn number(&mut self, mut value: u32, width: usize) {
        for at in (self.len..self.len + width).rev() {
            // `value % 10` is one digit: the cast cannot truncate.
            self.buffer[at] = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self.len += width;
    }
}

/// The instant of `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`, if `text` has exactly that shape
/// and names a valid date and time without a leap second; `None` sends it to chrono.
fn read(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 {
        return None;
    }
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, byte)| bytes[at] != byte) {
        return None;
    }
    let year = digits(&bytes[0..4])?;
    let month = digits(&bytes[5..7])?;
    let day = digits(&bytes[8..10])?;
    let hour = digits(&bytes[11..13])?;
    let minute = digits(&bytes[14..16])?;
    let second = digits(&bytes[17..19])?;
    let mut rest = &bytes[19..];
    let mut nano = 0;
    if let Some((b'.', fraction)) = rest.split_first() {
        let count = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if count == 0 || count > 9 {
            return None;
        }
        nano = digits(&fraction[..count])? * 10u32.pow(9 - count as u32);
        rest = &fraction[count..];
    }
    let offset_seconds = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2])?;
            let minutes = digits(&[*m1, *m2])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = i64::from(hours * 3600 + minutes * 60);
            if *sign == b'-' {
                -seconds
            } else {
                seconds
            }
        }
        _ => return None,
    };
    if second > 59 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nano)?;
    let local = date.and_time(time);
    let utc = local.checked_sub_signed(TimeDelta::seconds(offset_seconds))?;
    Some(utc.and_utc())
}

/// The number written by `bytes`, all ASCII digits (at most nine); `None` otherwise.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |value, byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u32::from(byte - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SecondsFormat;
    use serde::{Deserialize, Serialize};

    /// What chrono's own serde support reads from `text` (its error as text).
    fn chrono_reads(text: &str) -> Result<DateTime<Utc>, String> {
        serde_json::from_value::<DateTime<Utc>>(serde_json::Value::String(text.to_owned()))
            .map_err(|error| error.to_string())
    }

    fn reads(text: &str) -> Result<DateTime<Utc>, String> {
        deserialize(serde_json::Value::String(text.to_owned())).map_err(|error| error.to_string())
    }

    #[test]
    fn reads_what_chrono_reads_and_rejects_what_it_rejects() {
        let mut texts: Vec<String> = [
            "2026-11-30T06:00:00Z",
            "2026-11-30T06:00:00.5Z",
            "2026-11-30T06:00:00.123Z",
            "2026-11-30T06:00:00.123456789Z",
            "2026-11-30T06:00:00.1234567891Z",
            "2026-11-30T06:00:00+01:00",
            "2026-11-30T00:30:00+01:00",
            "2026-01-01T00:30:00.25-23:59",
            "2026-12-31T23:30:00-01:00",
            "0000-01-01T00:00:00Z",
            "0000-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59.999999999Z",
            "9999-12-31T23:59:59-01:00",
            "2024-02-29T12:00:00Z",
            "2026-02-29T12:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-11-30T24:00:00Z",
            "2026-11-30T23:60:00Z",
            "2026-11-30T23:59:60Z",
            "2016-12-31T23:59:60Z",
            "2026-11-30T06:00:00.Z",
            "2026-11-30T06:00:00z",
            "2026-11-30t06:00:00Z",
            "2026-11-30 06:00:00Z",
            "2026-11-30T06:00:00+0100",
            "2026-11-30T06:00:00+01",
            "2026-11-30T06:00:00+24:00",
            "2026-11-30T06:00:00+99:99",
            "2026-11-30T06:00:00-00:00",
            "2026-11-30T06:00:00",
            "2026-11-30T06:00Z",
            "2026-11-30",
            "+2026-11-30T06:00:00Z",
            "12026-11-30T06:00:00Z",
            "2026-11-30T06:00:00ZZ",
            "2026-11-30T06:00:00Z ",
            " 2026-11-30T06:00:00Z",
            "2026-1-30T06:00:00Z",
            "2026-11-30T06:00:00.１Z",
            "２026-11-30T06:00:00Z",
            "",
            "soon",
        ]
        .map(str::to_owned)
        .to_vec();
        for (year, month, day) in [(1970, 1, 1), (2000, 2, 29), (2026, 11, 30)] {
            for (hour, minute, second) in [(0, 0, 0), (12, 34, 56), (23, 59, 59)] {
                for fraction in ["", ".1", ".12", ".123", ".1234", ".000001", ".987654321"] {
                    for offset in ["Z", "+00:00", "+05:30", "-08:00", "+23:59", "-23:59"] {
                        texts.push(format!(
                            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}\
                             {fraction}{offset}"
                        ));
                    }
                }
            }
        }
        for text in &texts {
            assert_eq!(reads(text), chrono_reads(text), "{text:?}");
            if let Some(at) = read_rfc3339(text) {
                let strict = DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&Utc));
                assert_eq!(
                    Ok(at),
                    strict,
                    "{text:?}: as chrono's strict parser reads it"
                );
            }
        }
    }

    #[test]
    fn a_value_of_another_type_is_rejected_with_chrono_words() {
        #[derive(Debug, Deserialize)]
        struct At {
            #[serde(with = "super")]
            #[allow(dead_code)]
            at: DateTime<Utc>,
        }
        #[derive(Debug, Deserialize)]
        struct ChronoAt {
            #[allow(dead_code)]
            at: DateTime<Utc>,
        }
        for value in ["5", "null", "true", "[]", "{}", "\"x\""] {
            let text = format!(r#"{{"at": {value}}}"#);
            let ours = serde_json::from_str::<At>(&text).map_err(|e| e.to_string());
            let theirs = serde_json::from_str::<ChronoAt>(&text).map_err(|e| e.to_string());
            assert_eq!(ours.err(), theirs.err(), "{value}");
        }
    }

    #[test]
    fn writes_what_chrono_writes() {
        let base: DateTime<Utc> = "2026-11-30T06:07:08Z".parse().expect("an instant");
        let mut instants = vec![
            base,
            DateTime::<Utc>::UNIX_EPOCH,
            "0000-01-01T00:00:00Z".parse().expect("year 0"),
            "9999-12-31T23:59:59.999999999Z".parse().expect("year 9999"),
            "-0001-12-31T23:59:59Z".parse().expect("before year 0"),
            "+10000-01-01T00:00:00Z".parse().expect("after year 9999"),
            "2016-12-31T23:59:60.5Z".parse().expect("a leap second"),
        ];
        for nanos in [
            1,
            10,
            999,
            1_000,
            120_000,
            999_000,
            1_000_000,
            500_000_000,
            999_999_999,
        ] {
            instants.push(base + TimeDelta::nanoseconds(nanos));
        }
        for at in instants {
            let ours = serde_json::to_string(&Wrapped(at)).expect("writes");
            let theirs = serde_json::to_string(&at).expect("writes");
            assert_eq!(
                ours,
                theirs,
                "{}",
                at.to_rfc3339_opts(SecondsFormat::Nanos, true)
            );
            let back: DateTime<Utc> =
                deserialize(&mut serde_json::Deserializer::from_str(&ours)).expect("reads back");
            assert_eq!(back, at);
            assert_eq!(
                format_millis(at),
                at.to_rfc3339_opts(SecondsFormat::Millis, true)
            );
        }
    }

    /// An instant written by [`serialize`].
    struct Wrapped(DateTime<Utc>);

    impl Serialize for Wrapped {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            super::serialize(&self.0, serializer)
        }
    }

    /// Instants from before year 0 to after 9999 at every precision (a SplitMix64 sequence:
    /// the same on every run), so that both the direct path and chrono's are taken.
    fn generated_instants() -> Vec<DateTime<Utc>> {
        let mut state = 7u64;
        let mut next = move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        (0..5_000)
            .map(|_| {
                let seconds = (next() % 330_000_000_000) as i64 - 63_000_000_000;
                let nanos = match next() % 4 {
                    0 => 0,
                    1 => (next() % 1_000) as u32 * 1_000_000,
                    2 => (next() % 1_000_000) as u32 * 1_000,
                    _ => (next() % 1_000_000_000) as u32,
                };
                DateTime::from_timestamp(seconds, nanos).expect("in range")
            })
            .collect()
    }

    #[test]
    fn appends_and_parses_as_chrono_over_generated_instants() {
        for at in generated_instants() {
            for (fraction, format) in [
                (Fraction::AutoSi, SecondsFormat::AutoSi),
                (Fraction::Millis, SecondsFormat::Millis),
            ] {
                let mut out = b"x".to_vec();
                append(&mut out, at, fraction);
                let expected = at.to_rfc3339_opts(format, true);
                assert_eq!(&out[1..], expected.as_bytes(), "{expected}");
                let strict = DateTime::parse_from_rfc3339(&expected)
                    .ok()
                    .map(|at| at.with_timezone(&Utc));
                assert_eq!(parse_rfc3339(&expected), strict, "{expected}");
            }
        }
        for text in [
            "2026-11-16T09:30:00.250z",
            "2016-12-31T23:59:60.000Z",
            "soon",
            "",
        ] {
            let strict = DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|at| at.with_timezone(&Utc));
            assert_eq!(parse_rfc3339(text), strict, "{text}");
        }
    }

    #[test]
    fn optional_instants_read_null_as_none() {
        #[derive(Debug, PartialEq, Deserialize, Serialize)]
        struct Maybe {
            #[serde(default, with = "option", skip_serializing_if = "Option::is_none")]
            at: Option<DateTime<Utc>>,
        }
        let none: Maybe = serde_json::from_str(r#"{"at": null}"#).expect("null");
        assert_eq!(none, Maybe { at: None });
        let absent: Maybe = serde_json::from_str("{}").expect("absent");
        assert_eq!(absent, Maybe { at: None });
        assert_eq!(serde_json::to_string(&absent).expect("writes"), "{}");
        let some: Maybe =
            serde_json::from_str(r#"{"at": "2026-11-30T06:00:00+01:00"}"#).expect("an instant");
        assert_eq!(
            serde_json::to_string(&some).expect("writes"),
            r#"{"at":"2026-11-30T05:00:00Z"}"#
        );
    }
}
