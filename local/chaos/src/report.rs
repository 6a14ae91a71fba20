//! The chaos run's report: readable, and as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::faults::{FaultCounts, FaultShares};
use super::generator::Mix;
use super::ledger::Figures;
use crate::chaotic_queues::TransportCounts;

/// Everything a chaos run found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChaosReport {
    /// Events generated (records and customers switching on or off).
    pub events: usize,
    /// The seed.
    pub seed: u64,
    /// Share of deliveries duplicated, and of deliveries reordered, on every queue.
    pub duplicate_share: f64,
    /// Share of SQS-triggered invocations whose handler crashed before acknowledging.
    pub crash_share: f64,
    /// The port fault shares.
    pub fault_shares: FaultShares,
    /// What the generator put in.
    pub mix: Mix,
    /// Messages shown in the clean run (all of them, traceable or not).
    pub shown_clean: usize,
    /// Messages shown in the faulty run.
    pub shown_faulty: usize,
    /// The comparison.
    pub figures: Figures,
    /// Dead letters of the clean run by `stage reason`.
    pub dead_lettered_clean: BTreeMap<String, u64>,
    /// Dead letters of the faulty run by `stage reason`.
    pub dead_lettered: BTreeMap<String, u64>,
    /// Port faults that fired.
    pub faults: FaultCounts,
    /// What the chaotic transport did.
    pub transport: TransportCounts,
    /// Seconds the clean run took.
    pub clean_seconds: f64,
    /// Seconds the faulty run took.
    pub faulty_seconds: f64,
    /// Seconds in all (generation and comparison included).
    pub total_seconds: f64,
}

impl ChaosReport {
    /// Nothing lost, nothing shown twice, and no handler broke a FIFO group's order.
    pub fn passed(&self) -> bool {
        self.figures.passed() && self.transport.out_of_group_order == 0
    }

    /// The report for a person.
    pub fn readable(&self) -> String {
        let f = &self.figures;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "chaos: {} events, seed {}, duplicate/reorder share {}, crash share {}",
            self.events, self.seed, self.duplicate_share, self.crash_share
        );
        let repeated = f.repeated_attempts;
        let count = |n: usize| Some(n as u64);
        figure_lines(
            &mut out,
            &[
                (
                    "  logical messages expected (clean run)",
                    count(f.expected),
                    "",
                ),
                ("  delivered", count(f.delivered), ""),
                ("  lost", count(f.lost), ""),
                ("  shown twice", count(f.shown_twice), ""),
                (
                    "  repeated attempts with one id",
                    Some(repeated),
                    "  (allowed: OSG dedupes)",
                ),
                ("  accounted for by the contract:", None, ""),
                ("    spent before shown", count(f.spent), ""),
                (
                    "    replaced in MSQ by a newer one",
                    count(f.replaced_in_msq),
                    "",
                ),
                ("    expired in MSQ", count(f.expired), ""),
                (
                    "    superseded at TIM (reordered)",
                    count(f.superseded_at_tim),
                    "",
                ),
                ("  delivered, not in the clean run", count(f.unexpected), ""),
                ("  untraceable deliveries", count(f.untraceable), ""),
            ],
        );
        let _ = writeln!(out, "  dead-lettered (faulty run; clean run):");
        let mut reasons: Vec<&String> = self
            .dead_lettered
            .keys()
            .chain(self.dead_lettered_clean.keys())
            .collect();
        reasons.sort();
        reasons.dedup();
        if reasons.is_empty() {
            let _ = writeln!(out, "    none");
        }
        for reason in reasons {
            let _ = writeln!(
                out,
                "    {:<34}  {:>8}  {:>8}",
                reason,
                self.dead_lettered.get(reason).copied().unwrap_or(0),
                self.dead_lettered_clean.get(reason).copied().unwrap_or(0)
            );
        }
        let c = &self.faults;
        let t = &self.transport;
        let _ = writeln!(
            out,
            "  faults fired: PPH 5xx {}, CSL 5xx {}, OSG 5xx {}, OSG time-outs {}, TIM throttles {}, \
             MSQ throttles {}, partial publishes {} ({} messages), crashes mid-invocation {}",
            c.pph_5xx,
            c.csl_5xx,
            c.osg_5xx,
            c.osg_timeouts,
            c.tim_throttles,
            c.msq_throttles,
            c.partial_publishes,
            c.unpublished_messages,
            c.crashes_mid_invocation
        );
        let _ = writeln!(
            out,
            "  transport: {} batches, {} receives, {} reordered, {} duplicated, {} copies \
             deduplicated, {} late copies, {} crashed batches, {} redelivered, {} to dead-letter \
             queues, {} out of group order",
            t.batches,
            t.receives,
            t.reordered,
            t.duplicated,
            t.deduplicated,
            t.late_copies,
            t.crashed_batches,
            t.redelivered,
            t.dead_lettered,
            t.out_of_group_order
        );
        let _ = writeln!(
            out,
            "  run time: clean {:.1} s, faulty {:.1} s, total {:.1} s",
            self.clean_seconds, self.faulty_seconds, self.total_seconds
        );
        for example in &f.lost_examples {
            let _ = writeln!(out, "  lost: {example}");
        }
        for example in &f.shown_twice_examples {
            let _ = writeln!(out, "  shown twice: {example}");
        }
        let _ = writeln!(
            out,
            "{}",
            if self.passed() {
                "PASS: nothing lost, nothing shown twice"
            } else {
                "FAIL"
            }
        );
        out
    }
}

/// One line per figure: its label, then its count right-aligned in the report's columns and
/// its note; a label without a count is a heading.
fn figure_lines(out: &mut String, figures: &[(&str, Option<u64>, &str)]) {
    for (label, count, note) in figures {
        let _ = match count {
            Some(count) => writeln!(out, "{label:<40}{count:>8}{note}"),
            None => writeln!(out, "{label}"),
        };
    }
}
