//! The binding against the SDK's serde path: the common shape read by the binding, every
//! fallback, every error, and the writer against the SDK's builder and serializer.

use cloudevents::{Event, EventBuilder, EventBuilderV10};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::read_structured;
use crate::envelope::{Envelope, EnvelopeError, EventType, StageTimestamps};
use crate::limits::MAX_ID_CHARS;
use crate::stage::Stage;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Payload {
    value: u32,
}

const EXPECTED: &[EventType] = &[EventType::ActivityEnriched];

/// A body of the common shape, as DEC writes it.
fn base() -> Value {
    json!({
        "specversion": "1.0",
        "id": "id-1",
        "source": "/rewards/dec",
        "type": "rewards.activity.enriched",
        "subject": "10048213",
        "time": "2026-11-16T09:30:00.250Z",
        "datacontenttype": "application/json",
        "brand": "skybet",
        "correlationid": "corr-1",
        "tsorigin": "2026-11-16T09:30:00.000Z",
        "tsdec": "2026-11-16T09:30:00.250Z",
        "data": {"value": 7}
    })
}

/// The base body changed by `change`.
fn body_with(change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut body = base();
    if let Value::Object(members) = &mut body {
        change(members);
    }
    body.to_string()
}

/// Decodes `body` with the binding and with the SDK's serde path, asserts that they agree, and
/// answers the result and whether the binding read the body itself (no fallback).
fn decode_both(body: &str) -> (Result<Envelope<Payload>, EnvelopeError>, bool) {
    let read_by_binding = read_structured::<Payload>(body).is_some();
    let decoded = Envelope::<Payload>::decode(body, EXPECTED);
    let reference = Envelope::<Payload>::decode_via_event_serde(body, EXPECTED);
    assert_eq!(decoded, reference, "{body}");
    (decoded, read_by_binding)
}

/// Decodes a body the binding must leave to the SDK's serde path, which must read it.
fn fallback(body: &str) -> Envelope<Payload> {
    let (decoded, read_by_binding) = decode_both(body);
    assert!(!read_by_binding, "the binding should fall back on {body}");
    decoded.expect("the SDK's serde path reads it")
}

/// Decodes a body the binding must read itself.
fn binding(body: &str) -> Result<Envelope<Payload>, EnvelopeError> {
    let (decoded, read_by_binding) = decode_both(body);
    assert!(read_by_binding, "the binding should read {body}");
    decoded
}

#[test]
fn the_common_shape_is_read_by_the_binding() {
    let envelope = binding(&base().to_string()).expect("decodes");
    assert_eq!(envelope.id, "id-1");
    assert_eq!(envelope.source, "/rewards/dec");
    assert_eq!(envelope.subject, "10048213");
    assert_eq!(envelope.brand, "skybet");
    assert_eq!(envelope.correlation_id, "corr-1");
    assert!(envelope.timestamps.origin.is_some());
    assert!(envelope.timestamps.at(Stage::Dec).is_some());
    assert_eq!(envelope.data, Payload { value: 7 });
}

#[test]
fn the_binding_reads_members_in_any_order_escaped_and_with_other_extensions() {
    let reordered = concat!(
        r#"{"data":{"value":7},"tsdec":"2026-11-16T09:30:00.250Z","brand":"sky\u0062et","#,
        r#" "correlationid":"corr-1","other":"kept","subject":"10048213","#,
        r#" "time":"2026-11-16T09:30:00.250Z","type":"rewards.activity.enriched","#,
        r#" "source":"\/rewards\/dec","id":"id-\"1\"","specversion":"1.0"}"#,
    );
    let envelope = binding(reordered).expect("decodes");
    assert_eq!(envelope.brand, "skybet");
    assert_eq!(envelope.source, "/rewards/dec");
    assert_eq!(envelope.id, "id-\"1\"");
    let escaped_keys = base()
        .to_string()
        .replace("\"data\":", "\"d\\u0061ta\":")
        .replace("\"brand\":", "\"br\\u0061nd\":");
    assert_eq!(binding(&escaped_keys).expect("decodes").brand, "skybet");
}

#[test]
fn the_binding_reads_json_content_types_and_an_absent_one() {
    for content_type in [
        "application/json; charset=utf-8",
        "text/json",
        "application/cloudevents+json",
    ] {
        binding(&body_with(|m| {
            m.insert("datacontenttype".into(), content_type.into());
        }))
        .expect("decodes");
    }
    binding(&body_with(|m| {
        m.remove("datacontenttype");
    }))
    .expect("decodes");
}

#[test]
fn a_dataschema_is_left_to_the_sdk() {
    // The SDK parses it as a URL.
    let envelope = fallback(&body_with(|m| {
        m.insert("dataschema".into(), "https://example.test/schema".into());
    }));
    assert_eq!(envelope.data, Payload { value: 7 });
    fallback_error(&body_with(|m| {
        m.insert("dataschema".into(), "not a url".into());
    }));
}

#[test]
fn another_specversion_falls_back() {
    let envelope = fallback(&body_with(|m| {
        m.insert("specversion".into(), "0.3".into());
    }));
    assert_eq!(envelope.subject, "10048213");
}

#[test]
fn data_base64_falls_back() {
    let event = EventBuilderV10::new()
        .id("id-1")
        .source("/rewards/dec")
        .ty("rewards.activity.enriched")
        .subject("10048213")
        .time("2026-11-16T09:30:00.250Z")
        .extension("brand", "skybet")
        .extension("correlationid", "corr-1")
        .data("application/json", br#"{"value":9}"#.to_vec())
        .build()
        .expect("builds");
    let body = serde_json::to_string(&event).expect("the SDK writes it");
    assert!(body.contains("\"data_base64\""), "{body}");
    assert_eq!(fallback(&body).data, Payload { value: 9 });
}

#[test]
fn data_that_is_not_json_falls_back() {
    let envelope = fallback(&body_with(|m| {
        m.insert("datacontenttype".into(), "text/plain".into());
        m.insert("data".into(), r#"{"value":8}"#.into());
    }));
    assert_eq!(envelope.data, Payload { value: 8 });
    // Data of a non-JSON type is a string to the SDK: an object is not.
    let error = fallback_error(&body_with(|m| {
        m.insert("datacontenttype".into(), "text/plain".into());
    }));
    assert!(
        matches!(error, EnvelopeError::NotACloudEvent(_)),
        "{error:?}"
    );
}

#[test]
fn extensions_that_are_not_strings_fall_back() {
    for value in [json!(3), json!(true), json!(null)] {
        fallback(&body_with(|m| {
            m.insert("retries".into(), value);
        }));
    }
}

#[test]
fn null_attributes_fall_back() {
    let envelope = fallback(&body_with(|m| {
        m.insert("dataschema".into(), Value::Null);
    }));
    assert_eq!(envelope.data, Payload { value: 7 });
}

#[test]
fn an_empty_source_falls_back() {
    // The SDK's builder refuses it, its deserializer takes it.
    let envelope = fallback(&body_with(|m| {
        m.insert("source".into(), "".into());
    }));
    assert_eq!(envelope.source, "");
}

#[test]
fn duplicate_keys_fall_back_and_the_last_one_wins_as_before() {
    let body = base().to_string();
    let subject = body.replacen('{', r#"{"subject":"first","#, 1);
    assert_eq!(fallback(&subject).subject, "10048213");
    let last = |member: &str| format!("{},{member}}}", &body[..body.len() - 1]);
    assert_eq!(fallback(&last(r#""brand":"last""#)).brand, "last");
    assert_eq!(
        fallback(&last(r#""data":{"value":8}"#)).data,
        Payload { value: 8 }
    );
    let inside_data = body.replacen(r#""value":7"#, r#""value":7,"value":9"#, 1);
    assert_eq!(fallback(&inside_data).data, Payload { value: 9 });
}

#[test]
fn a_missing_attribute_is_named_with_the_event_id() {
    for attribute in ["subject", "time", "brand", "correlationid"] {
        let body = body_with(|m| {
            m.remove(attribute);
        });
        let error = binding(&body).expect_err("missing");
        assert_eq!(
            error,
            EnvelopeError::Missing {
                id: "id-1".into(),
                attribute,
            }
        );
    }
    let error = fallback_error(&body_with(|m| {
        m.remove("data");
    }));
    assert_eq!(
        error,
        EnvelopeError::Missing {
            id: "id-1".into(),
            attribute: "data"
        }
    );
}

/// Decodes a body the binding leaves to the SDK's serde path, which must refuse it.
fn fallback_error(body: &str) -> EnvelopeError {
    let (decoded, read_by_binding) = decode_both(body);
    assert!(!read_by_binding, "the binding should fall back on {body}");
    decoded.expect_err("refused")
}

#[test]
fn a_string_extension_of_another_type_counts_as_missing() {
    let error = fallback_error(&body_with(|m| {
        m.insert("brand".into(), json!(42));
    }));
    assert!(matches!(
        error,
        EnvelopeError::Missing {
            attribute: "brand",
            ..
        }
    ));
}

#[test]
fn a_wrong_or_unknown_type_is_rejected() {
    for ty in ["rewards.decided", "rewards.nope", ""] {
        let error = binding(&body_with(|m| {
            m.insert("type".into(), ty.into());
        }))
        .expect_err("wrong type");
        assert_eq!(
            error,
            EnvelopeError::Unexpected {
                id: "id-1".into(),
                attribute: "type",
                value: ty.into(),
            }
        );
    }
}

#[test]
fn too_long_identifying_attributes_are_named_and_the_id_is_cut() {
    for attribute in ["id", "subject", "brand", "correlationid"] {
        let long = "x".repeat(MAX_ID_CHARS + 1);
        let body = body_with(|m| {
            m.insert(attribute.into(), long.as_str().into());
        });
        match binding(&body).expect_err("too long") {
            EnvelopeError::TooLong {
                id,
                attribute: named,
                chars,
                limit,
            } => {
                assert_eq!(named, attribute);
                assert_eq!(chars, MAX_ID_CHARS + 1);
                assert_eq!(limit, MAX_ID_CHARS);
                let expected_id = if attribute == "id" {
                    "x".repeat(64)
                } else {
                    "id-1".into()
                };
                assert_eq!(id, expected_id);
            }
            other => panic!("{other:?}"),
        }
    }
    // Characters, not bytes.
    let body = body_with(|m| {
        m.insert("subject".into(), "é".repeat(MAX_ID_CHARS).into());
    });
    binding(&body).expect("128 characters are within the limit");
}

#[test]
fn unreadable_stage_timestamps_are_named_origin_first_then_chain_order() {
    let error = binding(&body_with(|m| {
        m.insert("tstim".into(), "later".into());
        m.insert("tsdec".into(), "yesterday".into());
    }))
    .expect_err("bad timestamps");
    assert_eq!(
        error,
        EnvelopeError::Unexpected {
            id: "id-1".into(),
            attribute: "tsdec",
            value: "yesterday".into(),
        }
    );
    let error = binding(&body_with(|m| {
        m.insert("tsmsq".into(), "later".into());
        m.insert("tsorigin".into(), "2026-13-01T00:00:00Z".into());
    }))
    .expect_err("bad timestamps");
    assert!(matches!(
        error,
        EnvelopeError::Unexpected {
            attribute: "tsorigin",
            ..
        }
    ));
}

#[test]
fn bad_data_names_the_event() {
    for data in [
        json!({"value": "x"}),
        json!({}),
        json!([]),
        json!(null),
        json!(-1),
    ] {
        let error = fallback_error(&body_with(|m| {
            m.insert("data".into(), data.clone());
        }));
        assert!(
            matches!(&error, EnvelopeError::Data { id, .. } if id == "id-1"),
            "{data}: {error:?}"
        );
    }
}

#[test]
fn what_is_not_a_cloudevent_is_said_so() {
    let bodies = [
        String::new(),
        "{nope".into(),
        "[]".into(),
        "\"text\"".into(),
        format!("{} trailing", base()),
        body_with(|m| {
            m.remove("specversion");
        }),
        body_with(|m| {
            m.insert("specversion".into(), "2.0".into());
        }),
        body_with(|m| {
            m.remove("id");
        }),
        body_with(|m| {
            m.insert("id".into(), json!(1));
        }),
        body_with(|m| {
            m.insert("time".into(), "09:30".into());
        }),
        body_with(|m| {
            m.insert("dataschema".into(), "not a url".into());
        }),
        body_with(|m| {
            m.insert("data_base64".into(), "e30=".into());
        }),
    ];
    for body in bodies {
        let error = fallback_error(&body);
        assert!(
            matches!(error, EnvelopeError::NotACloudEvent(_)),
            "{body}: {error:?}"
        );
    }
}

#[test]
fn every_sample_body_is_read_by_the_binding_as_the_sdk_reads_it() {
    let events = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
    let mut bodies = 0;
    for stage in ["tim", "fred", "bcg", "msq"] {
        let folder = std::path::Path::new(events).join(stage);
        for entry in std::fs::read_dir(&folder).expect("the sample folder") {
            let path = entry.expect("an entry").path();
            let text = std::fs::read_to_string(&path).expect("a sample");
            let sample: Value = serde_json::from_str(&text).expect("JSON");
            let Some(records) = sample["Records"].as_array() else {
                continue;
            };
            for body in records.iter().filter_map(|record| record["body"].as_str()) {
                bodies += 1;
                assert!(
                    read_structured::<Value>(body).is_some(),
                    "{}: {body}",
                    path.display()
                );
                assert_eq!(
                    Envelope::<Value>::decode(body, &EventType::ALL),
                    Envelope::<Value>::decode_via_event_serde(body, &EventType::ALL),
                    "{}",
                    path.display()
                );
            }
        }
    }
    assert!(bodies >= 5, "only {bodies} sample bodies");
}

/// An envelope with what JSON escapes in its texts, time to the microsecond and a timestamp
/// per stage.
fn full_envelope() -> Envelope<Value> {
    let at = |text: &str| text.parse().expect("a test time");
    let mut timestamps = StageTimestamps::from_origin(at("2026-11-16T09:30:00.000Z"));
    for (stage, text) in [
        (Stage::Msq, "2026-11-16T09:30:02.500Z"),
        (Stage::Dec, "2026-11-16T09:30:00.250Z"),
        (Stage::Tim, "2026-11-16T09:30:00.999Z"),
    ] {
        timestamps.stamp(stage, at(text));
    }
    Envelope {
        id: "id-\"1\"\n".into(),
        source: "/rewards/msq".into(),
        event_type: EventType::Decided,
        subject: "1004\u{1}8213".into(),
        time: at("2026-11-16T09:30:02.123456Z"),
        brand: "sky bet é".into(),
        correlation_id: "corr/1".into(),
        timestamps,
        data: json!({"value": 7, "text": "é\u{1}\"", "list": [1.5, null]}),
    }
}

#[test]
fn the_writer_writes_the_members_the_sdk_serializer_writes() {
    let envelope = full_envelope();
    let body = envelope.encode().expect("writes");
    let reference = envelope
        .encode_via_event_serde()
        .expect("the SDK writes it");
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON"),
        serde_json::from_str::<Value>(&reference).expect("JSON"),
    );
    let read: Event = serde_json::from_str(&body).expect("the SDK reads it");
    assert_eq!(read, envelope.to_cloudevent().expect("builds"));
}

#[test]
fn the_writer_writes_its_members_in_one_order() {
    let body = full_envelope().encode().expect("writes");
    assert_eq!(
        body,
        concat!(
            r#"{"specversion":"1.0","id":"id-\"1\"\n","type":"rewards.decided","#,
            r#""source":"/rewards/msq","datacontenttype":"application/json","#,
            r#""subject":"1004\u00018213","time":"2026-11-16T09:30:02.123456Z","#,
            r#""data":{"list":[1.5,null],"text":"é\u0001\"","value":7},"#,
            r#""brand":"sky bet é","correlationid":"corr/1","tsorigin":"2026-11-16T09:30:00.000Z","#,
            r#""tsdec":"2026-11-16T09:30:00.250Z","tstim":"2026-11-16T09:30:00.999Z","#,
            r#""tsmsq":"2026-11-16T09:30:02.500Z"}"#,
        )
    );
}

#[test]
fn the_writer_refuses_an_empty_source_as_the_sdk_builder_does() {
    let mut envelope = full_envelope();
    envelope.source.clear();
    let error = envelope.encode().expect_err("no source");
    assert_eq!(
        Err(error),
        envelope.to_cloudevent().map(|_| ()),
        "the builder's own error"
    );
}
