//! The dead-letter sink's contract, as cases every adapter must pass: the in-memory sink in
//! its unit tests, the SQS one against a local SQS (`tests/aws_adapters.rs`). The same cases,
//! so the two cannot drift apart. A [`Letterbox`] reads back what arrived.

use std::future::Future;

use super::{DeadLetter, DeadLetterSink};
use crate::stage::Stage;

/// Reads the letters that arrived since the last read, in order.
pub trait Letterbox {
    /// The letters that arrived: stage, reason and source as sent; the payload as kept (an
    /// adapter may have to make it fit its queue: the original is then noted beside it).
    fn arrived(&self) -> impl Future<Output = Vec<DeadLetter>>;
}

fn letter(source: String, payload: String) -> DeadLetter {
    DeadLetter {
        stage: Stage::Bcg,
        reason: "invalid-input: not a CloudEvent".into(),
        source,
        payload,
    }
}

/// Letters arrive with their stage, reason, source and payload.
pub async fn letters_arrive_whole<D: DeadLetterSink, L: Letterbox>(
    sink: &D,
    letterbox: &L,
    prefix: &str,
) {
    let letters: Vec<DeadLetter> = (0..3)
        .map(|i| letter(format!("{prefix}m{i}"), format!("{{\"n\": {i}}}")))
        .collect();
    sink.send(letters.clone())
        .await
        .unwrap_or_else(|error| panic!("send: {error}"));
    assert_eq!(letterbox.arrived().await, letters);
}

/// No payload makes the sink fail: an empty one, characters a queue refuses, one too large.
/// Each letter still arrives, naming its stage, reason and source (in any order: letters are
/// independent, and a sink may send them in several calls at once).
pub async fn any_payload_is_taken<D: DeadLetterSink, L: Letterbox>(
    sink: &D,
    letterbox: &L,
    prefix: &str,
) {
    let letters = vec![
        letter(format!("{prefix}empty"), String::new()),
        letter(format!("{prefix}nul"), "a\u{0}b".into()),
        letter(format!("{prefix}large"), "x".repeat(300_000)),
    ];
    sink.send(letters.clone())
        .await
        .unwrap_or_else(|error| panic!("send: {error}"));
    let arrived = letterbox.arrived().await;
    let named = |letters: &[DeadLetter]| -> Vec<(Stage, String, String)> {
        let mut named: Vec<(Stage, String, String)> = letters
            .iter()
            .map(|l| (l.stage, l.reason.clone(), l.source.clone()))
            .collect();
        named.sort();
        named
    };
    assert_eq!(named(&arrived), named(&letters));
}

/// Runs every case, with sources under `prefix`.
pub async fn check_all<D: DeadLetterSink, L: Letterbox>(sink: &D, letterbox: &L, prefix: &str) {
    letters_arrive_whole(sink, letterbox, prefix).await;
    any_payload_is_taken(sink, letterbox, prefix).await;
}
