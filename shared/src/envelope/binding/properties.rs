//! Properties of the binding over arbitrary envelopes and arbitrary bodies, against the SDK's
//! own serializer and deserializer.
//!
//! `proptest` is not a dev-dependency of this crate, so the cases come from a small seeded
//! generator (SplitMix64): the same cases on every run, a failing case printed with its seed.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use cloudevents::Event;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::read_structured;
use crate::envelope::{Envelope, EnvelopeError, EventType, StageTimestamps};
use crate::limits::MAX_ID_CHARS;
use crate::stage::Stage;

/// Cases per property.
const CASES: u64 = 400;

/// A seeded SplitMix64 generator.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    fn one_in(&mut self, chance: u64) -> bool {
        self.below(chance) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Text of up to `max` characters, with what JSON escapes and what is more than a byte.
    fn text(&mut self, max: u64) -> String {
        const CHARS: &[char] = &[
            'a', 'z', 'Q', '0', '9', '-', '_', '.', ' ', '/', ':', '+', '"', '\\', '\u{0}', '\n',
            '\t', '\u{1f}', '\u{7f}', 'é', '中', '𝄞', '\u{2028}', '{', '}', '[', ']', ',',
        ];
        let len = self.below(max + 1);
        (0..len).map(|_| *self.pick(CHARS)).collect()
    }

    /// An identifier: usually short, sometimes right at or over the limit.
    fn identifier(&mut self) -> String {
        match self.below(12) {
            0 => "i".repeat(MAX_ID_CHARS + 1 + self.below(50) as usize),
            1 => "é".repeat(MAX_ID_CHARS),
            _ => self.text(40),
        }
    }

    /// A time with any precision, between 1970 and 2100.
    fn time(&mut self) -> DateTime<Utc> {
        let seconds = self.below(4_102_444_800) as i64;
        let nanos = match self.below(4) {
            0 => 0,
            1 => self.below(1_000) as u32 * 1_000_000,
            2 => self.below(1_000_000) as u32 * 1_000,
            _ => self.below(1_000_000_000) as u32,
        };
        Utc.timestamp_opt(seconds, nanos)
            .single()
            .expect("a time in range")
    }

    /// A time to the millisecond, as the stage timestamps carry it.
    fn millis(&mut self) -> DateTime<Utc> {
        let seconds = self.below(4_102_444_800) as i64;
        let nanos = self.below(1_000) as u32 * 1_000_000;
        Utc.timestamp_opt(seconds, nanos)
            .single()
            .expect("a time in range")
    }

    fn data(&mut self) -> Arbitrary {
        Arbitrary {
            text: self.text(60),
            count: self.next(),
            delta: self.next() as i64,
            // n / 1000 with |n| < 10^12: serde_json reads back the very same f64.
            ratio: (self.below(2_000_000_000_000) as i64 - 1_000_000_000_000) as f64 / 1000.0,
            flag: self.one_in(2),
            note: if self.one_in(2) {
                Some(self.text(20))
            } else {
                None
            },
            tags: (0..self.below(4)).map(|_| self.text(10)).collect(),
            items: (0..self.below(3))
                .map(|_| Item {
                    name: self.text(10),
                    value: self.below(1_000) as u32,
                })
                .collect(),
            scores: (0..self.below(4))
                .map(|_| (self.text(8), self.below(100) as u32))
                .collect(),
            at: self.time(),
            status: *self.pick(&[Status::InProgress, Status::Won, Status::Lost]),
        }
    }

    fn envelope(&mut self) -> Envelope<Arbitrary> {
        let mut timestamps = StageTimestamps::default();
        if !self.one_in(4) {
            timestamps.origin = Some(self.millis());
        }
        for stage in Stage::ALL {
            if self.one_in(2) {
                let at = self.millis();
                timestamps.stamp(stage, at);
            }
        }
        Envelope {
            id: self.identifier(),
            source: if self.one_in(2) {
                self.pick(&Stage::ALL).source().to_owned()
            } else {
                format!("/{}", self.text(20))
            },
            event_type: *self.pick(&EventType::ALL),
            subject: self.identifier(),
            time: self.time(),
            brand: self.identifier(),
            correlation_id: self.identifier(),
            timestamps,
            data: self.data(),
        }
    }
}

/// A payload with every kind of JSON value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Arbitrary {
    text: String,
    count: u64,
    delta: i64,
    ratio: f64,
    flag: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    tags: Vec<String>,
    items: Vec<Item>,
    scores: BTreeMap<String, u32>,
    at: DateTime<Utc>,
    status: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Item {
    name: String,
    value: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Status {
    InProgress,
    Won,
    Lost,
}

fn within_limits(envelope: &Envelope<Arbitrary>) -> bool {
    [
        &envelope.id,
        &envelope.subject,
        &envelope.brand,
        &envelope.correlation_id,
    ]
    .iter()
    .all(|text| text.chars().count() <= MAX_ID_CHARS)
}

/// Decodes with the binding and with the SDK's serde path; they must agree.
fn decode_both(body: &str, case: u64) -> Result<Envelope<Arbitrary>, EnvelopeError> {
    let decoded = Envelope::<Arbitrary>::decode(body, &EventType::ALL);
    let reference = Envelope::<Arbitrary>::decode_via_event_serde(body, &EventType::ALL);
    assert_eq!(decoded, reference, "case {case}: {body}");
    decoded
}

#[test]
fn encode_writes_the_event_to_cloudevent_builds_as_the_sdk_reads_it() {
    let mut gen = Gen(1);
    for case in 0..CASES {
        let envelope = gen.envelope();
        let body = envelope.encode().expect("encodes");
        let read: Event = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("case {case}: the SDK reads {body}: {e}"));
        let built = envelope.to_cloudevent().expect("builds");
        assert_eq!(read, built, "case {case}: {body}");
        // The same members as the SDK's serializer writes (the order of the data's members
        // and of the extensions aside).
        let reference = envelope.encode_via_event_serde().expect("encodes");
        assert_eq!(
            serde_json::from_str::<Value>(&body).expect("JSON"),
            serde_json::from_str::<Value>(&reference).expect("JSON"),
            "case {case}"
        );
    }
}

#[test]
fn decode_reads_what_the_sdk_writes_as_the_sdk_reads_it() {
    let mut gen = Gen(3);
    for case in 0..CASES {
        let envelope = gen.envelope();
        let by_sdk = envelope.encode_via_event_serde().expect("encodes");
        let by_binding = envelope.encode().expect("encodes");
        for body in [by_sdk, by_binding] {
            assert!(
                read_structured::<Arbitrary>(&body).is_some(),
                "case {case}: the binding reads {body}"
            );
            let decoded = decode_both(&body, case);
            if within_limits(&envelope) {
                assert_eq!(decoded.as_ref(), Ok(&envelope), "case {case}");
            } else {
                assert!(
                    matches!(decoded, Err(EnvelopeError::TooLong { .. })),
                    "case {case}: {decoded:?}"
                );
            }
        }
    }
}

/// Changes one member of a body the way a foreign or broken writer might.
fn change_member(gen: &mut Gen, members: &mut serde_json::Map<String, Value>) {
    const NAMES: &[&str] = &[
        "specversion",
        "id",
        "type",
        "source",
        "subject",
        "time",
        "datacontenttype",
        "dataschema",
        "data",
        "data_base64",
        "brand",
        "correlationid",
        "tsorigin",
        "tsdec",
        "tstim",
        "other",
    ];
    let name = (*gen.pick(NAMES)).to_owned();
    let value = match gen.below(12) {
        0 => {
            members.remove(&name);
            return;
        }
        1 => Value::Null,
        2 => Value::from(gen.below(10)),
        3 => Value::from(gen.one_in(2)),
        4 => Value::from(gen.text(10)),
        5 => Value::from(*gen.pick(&["1.0", "0.3", "2.0", ""])),
        6 => Value::from(*gen.pick(&[
            "application/json",
            "text/plain",
            "application/xml",
            "text/json",
        ])),
        7 => Value::from(gen.time().to_rfc3339()),
        8 => serde_json::json!({ "text": gen.text(5) }),
        9 => Value::from(*gen.pick(&["e30=", "not base64", "https://example.test/s"])),
        10 => Value::from(gen.pick(&EventType::ALL).as_str()),
        _ => Value::Array(Vec::new()),
    };
    members.insert(name, value);
}

/// Damages the text of a body.
fn damage(gen: &mut Gen, body: &str) -> String {
    let chars: Vec<char> = body.chars().collect();
    let at = gen.below(chars.len() as u64 + 1) as usize;
    let until = (at + gen.below(8) as usize).min(chars.len());
    let head: String = chars[..at].iter().collect();
    let tail: String = chars[until..].iter().collect();
    const TOKENS: &[&str] = &[
        "",
        ",",
        "\"",
        ":",
        "{",
        "}",
        "[",
        "]",
        "null",
        "1",
        "true",
        "\\",
        "\\u0041",
        "\\ud800",
        "\"data\":{}",
        "\"subject\":\"x\",",
        "\u{0}",
        "é",
    ];
    match gen.below(3) {
        0 => head,
        _ => format!("{head}{}{tail}", gen.pick(TOKENS)),
    }
}

/// How the bodies of a property went: read by the binding or not, decoded or refused.
#[derive(Debug, Default)]
struct Tally {
    binding_ok: u64,
    binding_refused: u64,
    fallback_ok: u64,
    fallback_refused: u64,
}

impl Tally {
    fn count(&mut self, body: &str, case: u64) {
        let read_by_binding = read_structured::<Arbitrary>(body).is_some();
        match (read_by_binding, decode_both(body, case).is_ok()) {
            (true, true) => self.binding_ok += 1,
            (true, false) => self.binding_refused += 1,
            (false, true) => self.fallback_ok += 1,
            (false, false) => self.fallback_refused += 1,
        }
    }
}

#[test]
fn decode_of_any_body_never_panics_and_agrees_with_the_sdk_serde_path() {
    let mut gen = Gen(4);
    let mut changed = Tally::default();
    let mut damaged = Tally::default();
    for case in 0..CASES {
        let envelope = gen.envelope();
        let body = envelope.encode().expect("encodes");
        let mut members: serde_json::Map<String, Value> =
            serde_json::from_str(&body).expect("an object");
        for _ in 0..=gen.below(3) {
            change_member(&mut gen, &mut members);
        }
        changed.count(&Value::Object(members).to_string(), case);
        for _ in 0..4 {
            damaged.count(&damage(&mut gen, &body), case);
        }
        damaged.count(&gen.text(200), case);
        let bytes: Vec<u8> = (0..gen.below(64)).map(|_| gen.next() as u8).collect();
        damaged.count(&String::from_utf8_lossy(&bytes), case);
    }
    // Every way through is taken, so the agreement above means something.
    for (what, tally) in [("changed", &changed), ("damaged", &damaged)] {
        assert!(tally.binding_refused > 0, "{what}: {tally:?}");
        assert!(tally.fallback_refused > 0, "{what}: {tally:?}");
    }
    assert!(changed.binding_ok > 0, "{changed:?}");
    assert!(changed.fallback_ok > 0, "{changed:?}");
}
