//! The scenario runner of spec section 7: the whole pipeline on one machine.
//!
//! `rewards run SCENARIO.json [--json]` runs every stage's real handler, fed with real Lambda
//! event shapes (the MSK event, `SqsEvent`, the DES function URL request) from in-memory queues,
//! with stand-ins for DynamoDB, PPH, CSL and OSG behind the same ports the AWS adapters
//! implement.
//!
//! - [`scenario`]: the scenario file.
//! - [`backend`]: the ports and queues a pipeline runs on (in memory by default).
//! - [`queues`]: the in-memory SQS queues between the stages.
//! - [`des_bridge`]: FRED's decision port, through DES's HTTP handler.
//! - [`stand_ins`]: PPH, CSL and OSG as the scenario describes them.
//! - [`pipeline`]: the stages wired together; feeds steps and drains the queues.
//! - [`report`]: outcome lines and the readable account.
//! - [`mermaid`]: the scenario as a Mermaid sequence diagram.
//! - [`generated`]: promotions for generated runs (the bench's mix, the chaos run).
//! - [`stats`]: the percentile the local tools report latencies with.
#![deny(missing_docs)]

pub mod backend;
pub mod des_bridge;
pub mod generated;
pub mod mermaid;
pub mod pipeline;
pub mod queues;
pub mod report;
pub mod scenario;
pub mod stand_ins;
pub mod stats;

use std::path::Path;

pub use pipeline::Pipeline;
pub use scenario::{Scenario, ScenarioError};

/// Runs the scenario in `path` and returns what happened, in order.
pub async fn run_scenario(path: &Path) -> Result<Vec<report::Trace>, ScenarioError> {
    let scenario = Scenario::read(path)?;
    let mut pipeline = Pipeline::in_memory(&scenario)?;
    for (index, step) in scenario.steps.iter().enumerate() {
        pipeline.feed(index + 1, step).await;
    }
    Ok(pipeline.into_trace())
}
