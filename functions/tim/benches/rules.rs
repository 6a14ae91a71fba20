//! Hot path: TIM's per-record work short of the DynamoDB call — the SQS body decoded and
//! validated, the state key, the rule table against a stored state, the state update.
//!
//! `cargo bench -p tim --bench rules`; `cargo test --all-targets` runs it once.

use std::collections::BTreeMap;

use aws_lambda_events::event::sqs::SqsEvent;
use criterion::{criterion_group, criterion_main, Criterion};
use rewards_shared::ports::RewardState;
use tim::{record, rules};

/// The sample event of TIM's trigger.
const SAMPLE: &str = include_str!("../../../events/tim/sqs-cpp-enriched-events.json");

fn rules_bench(c: &mut Criterion) {
    let event: SqsEvent = serde_json::from_str(SAMPLE).expect("the sample SQS event parses");
    let body = event
        .records
        .into_iter()
        .find_map(|record| record.body)
        .expect("the sample has a body");
    let envelope = record::decode(&body).expect("the sample decodes");
    let stored = RewardState {
        sequence: envelope.data.sequence.saturating_sub(1),
        event_id: "earlier".into(),
        progress: BTreeMap::from([("rs-100".to_owned(), 1)]),
        award_emitted: false,
    };
    c.bench_function("tim/decode record", |b| {
        b.iter(|| record::decode(std::hint::black_box(&body)))
    });
    c.bench_function("tim/key + verdict + state update", |b| {
        b.iter(|| {
            let activity = std::hint::black_box(&envelope.data);
            let key = record::key(activity);
            let verdict = rules::verdict(activity, Some(&stored));
            (
                key,
                verdict,
                rules::state_update(activity, &envelope.id, "message-1"),
            )
        })
    });
}

criterion_group!(benches, rules_bench);
criterion_main!(benches);
