//! Derived ids: every stage derives several per event (the CloudEvent id of what it emits, the
//! FIFO group, the onsite message id).
//!
//! `ids/derived_id …` measures [`derived_id`] on the shapes the stages use; `ids/reference …`
//! measures the same ids built the plain way (the name joined into one string, then
//! `Uuid::new_v5` and its `Display`), for comparison. Both give the same text.
//!
//! `cargo bench -p rewards-shared --bench ids`; `cargo test --all-targets` runs it once.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rewards_shared::ids::derived_id;
use uuid::Uuid;

/// The namespace of [`derived_id`] (a copy: the crate keeps it private).
const NAMESPACE: Uuid = Uuid::from_u128(0x6f1d_3c2a_8b4e_4d71_9a0c_52e7_b1f4_0d93);

/// The id built the plain way: one string, `Uuid::new_v5`, `Display`.
fn reference(parts: &[&str]) -> String {
    let mut name = String::new();
    for part in parts {
        name.push_str(&part.len().to_string());
        name.push(':');
        name.push_str(part);
    }
    Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string()
}

fn ids(c: &mut Criterion) {
    let shapes: [(&str, &[&str]); 2] = [
        (
            "stage + event id",
            &["tim", "9b2d6c1e-4f0a-5b7e-8c3d-2a1f0e9d8c7b"],
        ),
        (
            "group (4 parts)",
            &["group", "10048213", "PROMO-2026-WEEKLY-SPINS", "week-48"],
        ),
    ];
    for (shape, parts) in shapes {
        assert_eq!(derived_id(parts), reference(parts), "the same id");
        c.bench_function(&format!("ids/derived_id {shape}"), |b| {
            b.iter(|| derived_id(black_box(parts)))
        });
        c.bench_function(&format!("ids/reference {shape}"), |b| {
            b.iter(|| reference(black_box(parts)))
        });
    }
}

criterion_group!(benches, ids);
criterion_main!(benches);
