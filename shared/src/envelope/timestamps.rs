//! The stage timestamps an envelope carries, and the latencies they give.

use chrono::{DateTime, Utc};

use super::*;

/// The times an event was seen: at its origin and by each stage that handled it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageTimestamps {
    /// The activity's `occurredAt`.
    pub origin: Option<DateTime<Utc>>,
    pub(super) stages: Vec<(Stage, DateTime<Utc>)>,
}

impl StageTimestamps {
    /// Timestamps starting at the given origin.
    pub fn from_origin(origin: DateTime<Utc>) -> Self {
        StageTimestamps {
            origin: Some(origin),
            stages: Vec::new(),
        }
    }

    /// When `stage` handled the event, if it did.
    pub fn at(&self, stage: Stage) -> Option<DateTime<Utc>> {
        self.stages
            .iter()
            .find(|(seen, _)| *seen == stage)
            .map(|(_, at)| *at)
    }

    /// Records that `stage` handled the event at `at` (replacing an earlier record of it).
    pub fn stamp(&mut self, stage: Stage, at: DateTime<Utc>) {
        self.stages.retain(|(seen, _)| *seen != stage);
        self.stages.push((stage, at));
        self.stages.sort_by_key(|(seen, _)| *seen);
    }

    /// The latest time any stage (or the origin) handled the event.
    pub fn latest(&self) -> Option<DateTime<Utc>> {
        self.stages.iter().map(|(_, at)| *at).max().or(self.origin)
    }

    /// Every stage timestamp, in chain order.
    pub fn stages(&self) -> impl Iterator<Item = (Stage, DateTime<Utc>)> + '_ {
        self.stages.iter().copied()
    }
}

/// Latencies of one event at one stage, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    /// Since the activity happened.
    pub from_origin_ms: Option<i64>,
    /// Since the previous stage handled the event.
    pub from_previous_ms: Option<i64>,
}
