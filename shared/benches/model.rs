//! The model's per-field readers and writers that every stage runs several times per event.
//!
//! - `model/instant read …`, `model/instant write …`: an RFC 3339 instant read and written by
//!   [`rewards_shared::model::timestamp`] and, for comparison, by chrono's serde support.
//! - `model/reward scheme read`: a PPH reward scheme with its tiers (carried as JSON text) and
//!   its expiry, read with the tolerant readers.
//!
//! `cargo bench -p rewards-shared --bench model`; `cargo test --all-targets` runs it once.

use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use rewards_shared::model::{timestamp, RewardScheme};
use serde::{Deserialize, Serialize};

/// An instant read and written by `model::timestamp`.
#[derive(Serialize, Deserialize)]
struct Ours {
    #[serde(with = "timestamp")]
    at: DateTime<Utc>,
}

/// An instant read and written by chrono's serde support.
#[derive(Serialize, Deserialize)]
struct Chrono {
    at: DateTime<Utc>,
}

const INSTANT: &str = r#"{"at":"2026-11-30T06:07:08.123Z"}"#;

const SCHEME: &str = r#"{"rewardSchemeId": "rs-100", "products": ["casino"],
    "rewardType": "FREE_SPINS", "productRewardType": "CASINO_FREE_SPINS",
    "tierDefinition": {"tiers": [{"threshold": 5, "reward": "10 free spins"},
                                 {"threshold": 10, "reward": {"spins": 25, "game": "g-1"}}]},
    "expirationDate": "2026-12-23T23:59:59.000Z"}"#;

fn model(c: &mut Criterion) {
    let ours: Ours = serde_json::from_str(INSTANT).expect("reads");
    let theirs: Chrono = serde_json::from_str(INSTANT).expect("reads");
    assert_eq!(ours.at, theirs.at, "the same instant");
    assert_eq!(
        serde_json::to_string(&ours).expect("writes"),
        serde_json::to_string(&theirs).expect("writes"),
        "the same text"
    );
    c.bench_function("model/instant read (model::timestamp)", |b| {
        b.iter(|| serde_json::from_str::<Ours>(black_box(INSTANT)).expect("reads"))
    });
    c.bench_function("model/instant read (chrono)", |b| {
        b.iter(|| serde_json::from_str::<Chrono>(black_box(INSTANT)).expect("reads"))
    });
    c.bench_function("model/instant write (model::timestamp)", |b| {
        b.iter(|| serde_json::to_string(black_box(&ours)).expect("writes"))
    });
    c.bench_function("model/instant write (chrono)", |b| {
        b.iter(|| serde_json::to_string(black_box(&theirs)).expect("writes"))
    });
    let scheme: RewardScheme = rewards_shared::model::parse(SCHEME).expect("reads");
    assert_eq!(scheme.tier_definition.first_threshold(), Some(5));
    c.bench_function("model/reward scheme read", |b| {
        b.iter(|| rewards_shared::model::parse::<RewardScheme>(black_box(SCHEME)).expect("reads"))
    });
}

criterion_group!(benches, model);
criterion_main!(benches);
