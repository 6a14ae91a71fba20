//! Hot path: an SQS body decoded into the CloudEvent envelope of an enriched activity, and the
//! next stage's envelope built and encoded (what every SQS-fed stage does per record).
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
    let now = decoded.time;
    c.bench_function("envelope/decode enriched (1 KB)", |b| {
        b.iter(|| Envelope::<EnrichedActivity>::decode(std::hint::black_box(&body), &expected))
    });
    c.bench_function("envelope/next + encode", |b| {
        b.iter(|| {
            let next = decoded.next(
                Stage::Tim,
                EventType::Relevant,
                "id".to_owned(),
                now,
                std::hint::black_box(decoded.data.clone()),
            );
            next.encode()
        })
    });
    c.bench_function("envelope/decode + next + encode", |b| {
        b.iter(|| {
            let envelope =
                Envelope::<EnrichedActivity>::decode(std::hint::black_box(&body), &expected)
                    .expect("decodes");
            envelope
                .next(
                    Stage::Tim,
                    EventType::Relevant,
                    "id".to_owned(),
                    now,
                    envelope.data.clone(),
                )
                .encode()
        })
    });
}

criterion_group!(benches, envelope);
criterion_main!(benches);
