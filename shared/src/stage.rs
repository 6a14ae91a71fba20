//! The stages of the pipeline.

use serde::{Deserialize, Serialize};

/// One stage (one Lambda function) of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Enrichment of activities from MSK.
    Dec,
    /// Dedupe and reward state.
    Tim,
    /// Filter, ask DES.
    Fred,
    /// Decision service.
    Des,
    /// Render and deliver.
    Bcg,
    /// Offline message queue.
    Msq,
}

impl Stage {
    /// Every stage, in chain order.
    pub const ALL: [Stage; 6] = [
        Stage::Dec,
        Stage::Tim,
        Stage::Fred,
        Stage::Des,
        Stage::Bcg,
        Stage::Msq,
    ];

    /// The lower-case name used in outcome lines, metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Dec => "dec",
            Stage::Tim => "tim",
            Stage::Fred => "fred",
            Stage::Des => "des",
            Stage::Bcg => "bcg",
            Stage::Msq => "msq",
        }
    }

    /// The CloudEvent extension holding the time this stage handled an event (`tsdec`, …).
    pub fn timestamp_extension(self) -> &'static str {
        match self {
            Stage::Dec => "tsdec",
            Stage::Tim => "tstim",
            Stage::Fred => "tsfred",
            Stage::Des => "tsdes",
            Stage::Bcg => "tsbcg",
            Stage::Msq => "tsmsq",
        }
    }

    /// The CloudEvent `source` of events this stage emits.
    pub fn source(self) -> &'static str {
        match self {
            Stage::Dec => "/rewards/dec",
            Stage::Tim => "/rewards/tim",
            Stage::Fred => "/rewards/fred",
            Stage::Des => "/rewards/des",
            Stage::Bcg => "/rewards/bcg",
            Stage::Msq => "/rewards/msq",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
