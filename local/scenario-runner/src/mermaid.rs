//! The scenario as a Mermaid sequence diagram (`rewards run SCENARIO --mermaid`), which GitHub
//! renders in Markdown: the stages are the participants, each step a note across them, each
//! message an arrow from the stage that sent it to the stage that consumes its queue, and each
//! outcome a note over its stage (a delivery, an arrow to the customer).

use std::fmt::Write as _;

use rewards_shared::ports::Outcome;
use rewards_shared::stage::Stage;

use crate::queues::consumer;
use crate::report::{describe, Trace};

/// The participants, left to right: Kafka (MSK), the stages, and the customer behind OSG.
const PARTICIPANTS: [(&str, &str); 7] = [
    ("msk", "MSK"),
    ("dec", "DEC"),
    ("tim", "TIM"),
    ("fred", "FRED"),
    ("bcg", "BCG"),
    ("msq", "MSQ"),
    ("customer", "customer (OSG)"),
];

/// The diagram of `trace`, a `sequenceDiagram` block without the Markdown fence.
pub fn sequence_diagram(trace: &[Trace]) -> String {
    let mut out = String::from("sequenceDiagram\n");
    for (id, name) in PARTICIPANTS {
        let _ = writeln!(out, "    participant {id} as {name}");
    }
    for entry in trace {
        match entry {
            Trace::Step { number, summary } => {
                let _ = writeln!(
                    out,
                    "    Note over msk,customer: step {number}: {}",
                    text(summary)
                );
            }
            Trace::Invocation {
                stage,
                trigger,
                records,
                emitted,
                failures,
                ..
            } => {
                if trigger.contains('.') {
                    // A Kafka topic: the records come from MSK.
                    let _ = writeln!(
                        out,
                        "    msk->>{}: {} ×{records}",
                        stage.as_str(),
                        text(trigger)
                    );
                }
                for (destination, count) in emitted {
                    let _ = writeln!(
                        out,
                        "    {}->>{}: {} ×{count}",
                        stage.as_str(),
                        consumer(*destination).as_str(),
                        destination.queue_name()
                    );
                }
                if *failures > 0 {
                    let _ = writeln!(out, "    Note over {}: {failures} to retry", stage.as_str());
                }
            }
            Trace::Outcome(outcome) => {
                let line = match outcome {
                    Outcome::Delivered { via, .. } => {
                        format!("{}-)customer: {}", via.as_str(), text(&describe(outcome)))
                    }
                    _ => format!(
                        "Note over {}: {}",
                        outcome_stage(outcome).as_str(),
                        text(&describe(outcome))
                    ),
                };
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    out
}

/// The stage an outcome happened at.
fn outcome_stage(outcome: &Outcome) -> Stage {
    match outcome {
        Outcome::Delivered { via, .. } => *via,
        Outcome::Queued { .. } | Outcome::Deleted { .. } => Stage::Msq,
        Outcome::Dropped { stage, .. } | Outcome::DeadLettered { stage, .. } => *stage,
    }
}

/// `value` as Mermaid message text: one line, with `#` and `;` (which Mermaid reads as an
/// entity and a statement's end) written as entity codes.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use rewards_shared::model::{DeliveryFormat, MessageType};
    use rewards_shared::ports::{Destination, DropReason};

    use super::*;

    fn invocation(stage: Stage, trigger: &str, emitted: &[(Destination, usize)]) -> Trace {
        Trace::Invocation {
            stage,
            trigger: trigger.to_owned(),
            records: 1,
            elapsed: Duration::from_micros(250),
            emitted: emitted.iter().copied().collect::<BTreeMap<_, _>>(),
            failures: 0,
        }
    }

    #[test]
    fn steps_messages_and_outcomes_become_notes_and_arrows() {
        let trace = vec![
            Trace::Step {
                number: 1,
                summary: "cppActivity IN_PROGRESS; #2".to_owned(),
            },
            invocation(
                Stage::Dec,
                "local.rewards.cpp.activity",
                &[(Destination::EnrichedEvents, 1)],
            ),
            invocation(
                Stage::Tim,
                "cpp-enriched-events",
                &[(Destination::RelevantEvents, 1)],
            ),
            invocation(
                Stage::Fred,
                "relevant-events",
                &[(Destination::DecidedEvents, 1)],
            ),
            invocation(Stage::Bcg, "decided-events", &[]),
            Trace::Outcome(Outcome::Delivered {
                account_id: "10048213".to_owned(),
                message_type: MessageType::Progress,
                message_id: "m-1".to_owned(),
                via: Stage::Bcg,
                format: DeliveryFormat::Toast,
                title: "Keep going!".to_owned(),
                body: "3 of 5".to_owned(),
            }),
            Trace::Outcome(Outcome::Dropped {
                stage: Stage::Tim,
                reason: DropReason::Duplicate,
                account_id: None,
            }),
        ];
        let diagram = sequence_diagram(&trace);
        let lines: Vec<&str> = diagram.lines().collect();
        assert_eq!(lines[0], "sequenceDiagram");
        assert!(lines.contains(&"    participant tim as TIM"));
        let body: Vec<&str> = lines[1 + PARTICIPANTS.len()..].to_vec();
        assert_eq!(
            body,
            [
                "    Note over msk,customer: step 1: cppActivity IN_PROGRESS#59; #35;2",
                "    msk->>dec: local.rewards.cpp.activity ×1",
                "    dec->>tim: cpp-enriched-events ×1",
                "    tim->>fred: relevant-events ×1",
                "    fred->>bcg: decided-events ×1",
                "    bcg-)customer: ✔ delivered PROGRESS to 10048213 via bcg as TOAST: \"Keep going!\" — \"3 of 5\"",
                "    Note over tim: ✖ dropped at tim: duplicate",
            ]
        );
    }
}
