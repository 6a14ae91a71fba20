//! Hot path: an SQS body decoded into the CloudEvent envelope of an enriched activity, and the
//! next stage's envelope built and encoded (what every SQS-fed stage does per record).
//!
//! `envelope/decode enriched (1 KB)`, `envelope/next + encode` and `envelope/decode + next +
//! encode` measure the SQS structured-mode binding ([`Envelope::decode`], [`Envelope::encode`]);
//! the `… via Event serde` benches measure the SDK's serde path it replaced
//! ([`Envelope::decode_via_event_serde`], [`Envelope::encode_via_event_serde`]), for comparison;
//! `envelope/reference: …` is the floor, the data alone parsed and written by serde_json.
//!
//! `cargo bench -p rewards-shared --bench envelope`; `cargo test --all-targets` runs it once.

use aws_lambda_events::event::sqs::SqsEvent;
use criterion::{criterion_group, criterion_main, Criterion};
use rewards_shared::envelope::{Envelope, EventType};
use rewards_shared::model::EnrichedActivity;
use rewards_shared::stage::Stage;

/// The sample event of TIM's trigger (an enriched activity of about 1 KB).
const SAMPLE: &str = include_str!("../../events/tim/sqs-cpp-enriched-events.json");

fn body() -> String {
    let event: SqsEvent = serde_json::from_str(SAMPLE).expect("the sample SQS event parses");
    event
        .records
        .into_iter()
        .find_map(|record| record.body)
        .expect("the sample has a body")
}

fn envelope(c: &mut Criterion) {
    let body = body();
    let expected = [EventType::ActivityEnriched];
    let decoded =
        Envelope::<EnrichedActivity>::decode(&body, &expected).expect("the sample decodes");
    assert_eq!(
        Envelope::<EnrichedActivity>::decode_via_event_serde(&body, &expected).as_ref(),
        Ok(&decoded),
        "both paths read the sample alike"
    );
    let now = decoded.time;
    let next = |envelope: &Envelope<EnrichedActivity>| {
        envelope.next(
            Stage::Tim,
            EventType::Relevant,
            "id".to_owned(),
            now,
            std::hint::black_box(envelope.data.clone()),
        )
    };
    let as_json = |body: Result<String, _>| {
        serde_json::from_str::<serde_json::Value>(&body.expect("encodes")).expect("JSON")
    };
    assert_eq!(
        as_json(next(&decoded).encode()),
        as_json(next(&decoded).encode_via_event_serde()),
        "both paths write the same event"
    );

    c.bench_function("envelope/decode enriched (1 KB)", |b| {
        b.iter(|| Envelope::<EnrichedActivity>::decode(std::hint::black_box(&body), &expected))
    });
    c.bench_function("envelope/decode via Event serde", |b| {
        b.iter(|| {
            Envelope::<EnrichedActivity>::decode_via_event_serde(
                std::hint::black_box(&body),
                &expected,
            )
        })
    });
    c.bench_function("envelope/next + encode", |b| {
        b.iter(|| next(&decoded).encode())
    });
    c.bench_function("envelope/next + encode via Event serde", |b| {
        b.iter(|| next(&decoded).encode_via_event_serde())
    });
    c.bench_function("envelope/decode + next + encode", |b| {
        b.iter(|| {
            let envelope =
                Envelope::<EnrichedActivity>::decode(std::hint::black_box(&body), &expected)
                    .expect("decodes");
            next(&envelope).encode()
        })
    });
    c.bench_function("envelope/decode + next + encode via Event serde", |b| {
        b.iter(|| {
            let envelope = Envelope::<EnrichedActivity>::decode_via_event_serde(
                std::hint::black_box(&body),
                &expected,
            )
            .expect("decodes");
            next(&envelope).encode_via_event_serde()
        })
    });
    // The floor: the data alone parsed and written by serde_json, no envelope, no event.
    let data = serde_json::to_string(&decoded.data).expect("serialises");
    c.bench_function(
        "envelope/reference: the data alone, serde parse + write",
        |b| {
            b.iter(|| {
                let parsed: EnrichedActivity =
                    serde_json::from_str(std::hint::black_box(&data)).expect("parses");
                serde_json::to_string(&parsed)
            })
        },
    );
}

criterion_group!(benches, envelope);
criterion_main!(benches);
