//! What the runner prints: the outcome lines of spec section 7 (`--json`), or an account of
//! each step's path through the stages, with each stage's latency, and a summary table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use rewards_shared::ports::{Destination, Outcome};
use rewards_shared::stage::Stage;

/// One thing that happened while a scenario ran, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Trace {
    /// A step was fed in.
    Step {
        /// Its number, from 1.
        number: usize,
        /// Its kind and a short description.
        summary: String,
    },
    /// A stage's handler ran once.
    Invocation {
        /// The stage.
        stage: Stage,
        /// What triggered it: a queue or a topic.
        trigger: String,
        /// Records in the event.
        records: usize,
        /// Time the handler took.
        elapsed: Duration,
        /// Messages it published, by destination.
        emitted: BTreeMap<Destination, usize>,
        /// Records it reported for redelivery.
        failures: usize,
    },
    /// An outcome.
    Outcome(Outcome),
}

/// The outcome lines, one JSON object per line.
pub fn json_lines(trace: &[Trace]) -> String {
    let mut out = String::new();
    for entry in trace {
        if let Trace::Outcome(outcome) = entry {
            if let Ok(line) = serde_json::to_string(outcome) {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    out
}

/// The account for a person.
pub fn readable(trace: &[Trace]) -> String {
    let mut out = String::new();
    let mut per_stage: BTreeMap<Stage, (usize, usize, Duration)> = BTreeMap::new();
    let mut per_outcome: BTreeMap<String, usize> = BTreeMap::new();
    for entry in trace {
        match entry {
            Trace::Step { number, summary } => {
                let _ = writeln!(out, "\nstep {number}: {summary}");
            }
            Trace::Invocation {
                stage,
                trigger,
                records,
                elapsed,
                emitted,
                failures,
            } => {
                let totals = per_stage.entry(*stage).or_default();
                totals.0 += 1;
                totals.1 += records;
                totals.2 += *elapsed;
                let mut line = format!(
                    "  {:<4} {:>8.3} ms  {} record{} from {}",
                    stage.as_str(),
                    elapsed.as_secs_f64() * 1000.0,
                    records,
                    if *records == 1 { "" } else { "s" },
                    trigger
                );
                for (destination, count) in emitted {
                    let _ = write!(line, "  → {} ×{}", destination.queue_name(), count);
                }
                if *failures > 0 {
                    let _ = write!(line, "  ({failures} to retry)");
                }
                let _ = writeln!(out, "{line}");
            }
            Trace::Outcome(outcome) => {
                *per_outcome.entry(outcome_kind(outcome)).or_default() += 1;
                let _ = writeln!(out, "       {}", describe(outcome));
            }
        }
    }
    let _ = writeln!(out, "\nsummary");
    let _ = writeln!(
        out,
        "  {:<6} {:>11} {:>8} {:>10} {:>12}",
        "stage", "invocations", "records", "total ms", "ms/record"
    );
    for (stage, (invocations, records, elapsed)) in &per_stage {
        let total = elapsed.as_secs_f64() * 1000.0;
        let per_record = if *records == 0 {
            0.0
        } else {
            total / *records as f64
        };
        let _ = writeln!(
            out,
            "  {:<6} {:>11} {:>8} {:>10.3} {:>12.3}",
            stage.as_str(),
            invocations,
            records,
            total,
            per_record
        );
    }
    let _ = writeln!(out, "  outcomes:");
    if per_outcome.is_empty() {
        let _ = writeln!(out, "    none");
    }
    for (kind, count) in &per_outcome {
        let _ = writeln!(out, "    {kind:<36} {count}");
    }
    out
}

/// An outcome's kind, as the run's summary and the bench's tally count it: how it was
/// delivered, or where it was dropped or dead-lettered and why.
pub fn outcome_kind(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Delivered { via, .. } => format!("delivered via {via}"),
        Outcome::Queued { .. } => "queued".to_owned(),
        Outcome::Dropped { stage, reason, .. } => {
            format!("dropped at {stage}: {}", reason.as_str())
        }
        Outcome::Deleted { .. } => "deleted".to_owned(),
        Outcome::DeadLettered { stage, reason } => {
            format!(
                "dead-lettered at {stage}: {}",
                reason.split(':').next().unwrap_or(reason)
            )
        }
    }
}

/// One outcome for a person to read.
pub(crate) fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Delivered {
            account_id,
            message_type,
            format,
            title,
            body,
            via,
            ..
        } => {
            format!("✔ delivered {message_type} to {account_id} via {via} as {}: \"{title}\" — \"{body}\"", format.as_str())
        }
        Outcome::Queued {
            account_id,
            message_type,
            ..
        } => {
            format!("⏸ queued {message_type} for {account_id} until they are online")
        }
        Outcome::Dropped {
            stage,
            reason,
            account_id,
        } => format!(
            "✖ dropped at {stage}: {}{}",
            reason.as_str(),
            account_id
                .as_deref()
                .map(|a| format!(" (account {a})"))
                .unwrap_or_default()
        ),
        Outcome::Deleted {
            account_id,
            message_type,
        } => {
            format!("🗑 deleted the queued {message_type} of {account_id}")
        }
        Outcome::DeadLettered { stage, reason } => format!("☠ dead-lettered at {stage}: {reason}"),
    }
}
