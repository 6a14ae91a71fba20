//! Hot path: BCG's rendering — the placeholders of an activity and a title and a body
//! rendered from CSL-style templates.
//!
//! `cargo bench -p bcg --bench render`; `cargo test --all-targets` runs it once.

use aws_lambda_events::event::sqs::SqsEvent;
use bcg::render::{render, Placeholders};
use criterion::{criterion_group, criterion_main, Criterion};
use rewards_shared::envelope::{Envelope, EventType};
use rewards_shared::model::EnrichedActivity;

/// An enriched activity (the sample event of TIM's trigger).
const SAMPLE: &str = include_str!("../../../events/tim/sqs-cpp-enriched-events.json");

const TITLE: &str = "Reward unlocked in {{promoName}}";
const BODY: &str =
    "Your {{rewardType}} from {{promoName}}: {{current}} of {{target}}, ready until {{expirationDate}}";

fn render_bench(c: &mut Criterion) {
    let event: SqsEvent = serde_json::from_str(SAMPLE).expect("the sample SQS event parses");
    let body = event
        .records
        .into_iter()
        .find_map(|record| record.body)
        .expect("the sample has a body");
    let activity = Envelope::<EnrichedActivity>::decode(&body, &[EventType::ActivityEnriched])
        .expect("the sample decodes")
        .data;
    let placeholders = Placeholders::from_activity(&activity);
    c.bench_function("bcg/placeholders", |b| {
        b.iter(|| Placeholders::from_activity(std::hint::black_box(&activity)))
    });
    c.bench_function("bcg/render title + body", |b| {
        b.iter(|| {
            let p = std::hint::black_box(&placeholders);
            (render(TITLE, p), render(BODY, p))
        })
    });
}

criterion_group!(benches, render_bench);
criterion_main!(benches);
