//! Cost per million events from the counted calls and public list prices.
//!
//! Prices: AWS list prices for US East (N. Virginia), as published on the Lambda, DynamoDB and
//! SQS pricing pages (aws.amazon.com/lambda/pricing, /dynamodb/pricing/on-demand,
//! /sqs/pricing), DynamoDB on-demand after its reduction of 1 November 2024; the figures were
//! taken from those pages' published values and last checked 2026-11-21. No free tier, no
//! savings plan. Other regions differ by a few per cent (eu-west-1 is about 13 % dearer for
//! DynamoDB); change [`PRICES`] to price another region.
//!
//! - Lambda: requests, plus duration in GB-seconds at the configured memory (`MemorySize: 256`
//!   in `template.yaml`, arm64), each invocation's measured handler time rounded up to the
//!   millisecond as Lambda bills it. The handler times are those of the run against moto: the
//!   emulator's answer time stands in for DynamoDB's and SQS's (moto on loopback answers in
//!   about as long as DynamoDB does in-region, 2–10 ms). The in-memory handler times give the
//!   floor (`lambdaCpuOnly`). DES is invoked once per FRED batch that asks it, through its function URL
//!   (no charge for the URL itself); PPH, CSL and OSG answer instantly here, so the time FRED,
//!   BCG and MSQ wait for HTTP services in production is not in these figures.
//! - DynamoDB on-demand: one write request unit per KB of the item written (the larger of the
//!   items before and after, from the largest item found in each table after the run; a failed
//!   conditional write is billed too), one read unit per 4 KB read strongly consistently.
//! - SQS: each `SendMessageBatch` is one request per 64 KB of payload; each batch the event
//!   source mapping delivers costs one `ReceiveMessage` and one `DeleteMessageBatch` per ten
//!   messages. The ordered path's queues (`cpp-enriched-events`, `relevant-events`,
//!   `decided-events`) are FIFO in the design and priced as FIFO ($0.50 per million requests
//!   against $0.40); sends are split between the two prices by the share of messages each kind
//!   of queue received.
//! - Not included: MSK, CloudWatch Logs and metrics, data transfer, storage. The bench reports
//!   the log bytes the functions write per event at INFO and what their ingestion would cost
//!   ([`LOG_INGESTION_PER_GB`]) beside these figures.

use rewards_shared::ports::Destination;
use rewards_shared::stage::Stage;

use super::aws_calls::{AwsCalls, DYNAMODB_READS, DYNAMODB_WRITES, SQS_SENDS};
use super::throughput::Throughput;

/// List prices, in US dollars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    /// When the prices were read.
    pub as_of: &'static str,
    /// Their region.
    pub region: &'static str,
    /// Lambda, per request.
    pub lambda_request: f64,
    /// Lambda arm64, per GB-second.
    pub lambda_arm64_gb_second: f64,
    /// DynamoDB on-demand, per write request unit.
    pub dynamodb_write_unit: f64,
    /// DynamoDB on-demand, per read request unit.
    pub dynamodb_read_unit: f64,
    /// SQS standard queue, per request (64 KB chunk).
    pub sqs_request: f64,
    /// SQS FIFO queue, per request (64 KB chunk).
    pub sqs_fifo_request: f64,
}

/// The prices used (see the module documentation for the source).
pub const PRICES: Prices = Prices {
    as_of: "2026-11-21 (DynamoDB on-demand after the 2024-11-01 reduction)",
    region: "us-east-1",
    lambda_request: 0.20 / 1e6,
    lambda_arm64_gb_second: 0.000_013_333_4,
    dynamodb_write_unit: 0.625 / 1e6,
    dynamodb_read_unit: 0.125 / 1e6,
    sqs_request: 0.40 / 1e6,
    sqs_fifo_request: 0.50 / 1e6,
};

/// CloudWatch Logs standard ingestion, per GB, us-east-1 (aws.amazon.com/cloudwatch/pricing,
/// "Collect (Data Ingestion)"; the same source and date as [`PRICES`]).
pub const LOG_INGESTION_PER_GB: f64 = 0.50;

/// The queues that are FIFO in the design (`.fifo`): the ordered path of an award.
pub fn is_fifo(destination: Destination) -> bool {
    matches!(
        destination,
        Destination::EnrichedEvents | Destination::RelevantEvents | Destination::DecidedEvents
    )
}

/// Every function's memory (`Globals.Function.MemorySize` in `template.yaml`), in GB.
pub const MEMORY_GB: f64 = 256.0 / 1024.0;

/// Cost per million events, by service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cost {
    /// Lambda requests and duration (handler times from the run against moto).
    pub lambda: f64,
    /// Lambda with the in-memory handler times: what compute alone costs.
    pub lambda_cpu_only: f64,
    /// Of `lambda`, the requests.
    pub lambda_requests: f64,
    /// DynamoDB.
    pub dynamodb: f64,
    /// SQS (our sends and the event source mappings' receives and deletes).
    pub sqs: f64,
    /// Of `sqs`, the standard queues' share.
    pub sqs_standard: f64,
    /// Lambda invocations per event, by function.
    pub invocations_per_event: Vec<(Stage, f64)>,
    /// Write request units per event.
    pub write_units_per_event: f64,
    /// Read request units per event.
    pub read_units_per_event: f64,
    /// SQS requests per event.
    pub sqs_requests_per_event: f64,
}

impl Cost {
    /// The total.
    pub fn total(&self) -> f64 {
        self.lambda + self.dynamodb + self.sqs
    }
}

/// Invocations and billed milliseconds of a stage in a run (DES: one per FRED request, billed
/// at least a millisecond each).
fn invocations(calls: &AwsCalls, stage: Stage, des_micros: f64) -> (f64, f64) {
    if stage == Stage::Des {
        let n = calls.tally.des_requests as f64;
        return (n, n * (des_micros / 1000.0).ceil().max(1.0));
    }
    calls.tally.stages.get(&stage).map_or((0.0, 0.0), |t| {
        (t.invocations as f64, t.billed_millis as f64)
    })
}

/// The cost per million events of the AWS run `calls`; `memory` (the in-memory run) gives the
/// compute-only floor and DES's handler time.
pub fn estimate(calls: &AwsCalls, memory: Option<&Throughput>) -> Cost {
    let events = calls.events().max(1) as f64;
    let million = 1e6 / events;
    let des_micros = memory.map_or(0.0, |m| m.des_micros_per_call);
    let mut cost = Cost::default();
    for stage in Stage::ALL {
        let (n, billed_ms) = invocations(calls, stage, des_micros);
        cost.invocations_per_event.push((stage, n / events));
        cost.lambda_requests += n * PRICES.lambda_request * million;
        cost.lambda += (n * PRICES.lambda_request
            + billed_ms / 1000.0 * MEMORY_GB * PRICES.lambda_arm64_gb_second)
            * million;
        // The floor: the same invocations at the in-memory run's billed time per invocation.
        let floor_ms_per_invocation = memory
            .and_then(|m| {
                if stage == Stage::Des {
                    return Some(1.0);
                }
                m.tally
                    .stages
                    .get(&stage)
                    .filter(|t| t.invocations > 0)
                    .map(|t| t.billed_millis as f64 / t.invocations as f64)
            })
            .unwrap_or(1.0);
        cost.lambda_cpu_only += (n * PRICES.lambda_request
            + n * floor_ms_per_invocation / 1000.0 * MEMORY_GB * PRICES.lambda_arm64_gb_second)
            * million;
    }

    let units_per_write = |stage: Stage| {
        let item = if stage == Stage::Tim {
            calls.tim_item_bytes
        } else {
            calls.msq_item_bytes
        };
        item.div_ceil(1024).max(1) as f64
    };
    let mut write_units = 0.0;
    let mut read_units = 0.0;
    // Sends are priced by where their messages went: FIFO for the share of the messages the
    // FIFO queues received, standard for the rest.
    let messages: u64 = calls.queues.values().map(|t| t.messages).sum();
    let fifo_messages: u64 = calls
        .queues
        .iter()
        .filter(|(d, _)| is_fifo(**d))
        .map(|(_, t)| t.messages)
        .sum();
    let fifo_share = if messages == 0 {
        0.0
    } else {
        fifo_messages as f64 / messages as f64
    };
    let mut sqs_requests = 0.0;
    let mut fifo_requests = 0.0;
    for ((stage, service, operation), tally) in &calls.counts {
        if service.eq_ignore_ascii_case("dynamodb") {
            if DYNAMODB_WRITES.contains(&operation.as_str()) {
                write_units += tally.calls as f64 * units_per_write(*stage);
            } else if DYNAMODB_READS.contains(&operation.as_str()) {
                read_units +=
                    (tally.calls as f64).max((tally.response_bytes as f64 / 4096.0).ceil());
            }
        } else if service.eq_ignore_ascii_case("sqs") && SQS_SENDS.contains(&operation.as_str()) {
            let average = tally.request_bytes as f64 / tally.calls.max(1) as f64;
            let requests = tally.calls as f64 * (average / 65_536.0).ceil().max(1.0);
            sqs_requests += requests;
            fifo_requests += requests * fifo_share;
        }
    }
    for (destination, tally) in &calls.queues {
        // Each `ReceiveMessage` is billed per 64 KB of payload; each delete call is one request.
        let average = tally.body_bytes as f64 / tally.receive_calls.max(1) as f64;
        let requests = tally.receive_calls as f64 * (average / 65_536.0).ceil().max(1.0)
            + tally.delete_calls as f64;
        sqs_requests += requests;
        if is_fifo(*destination) {
            fifo_requests += requests;
        }
    }
    cost.write_units_per_event = write_units / events;
    cost.read_units_per_event = read_units / events;
    cost.sqs_requests_per_event = sqs_requests / events;
    cost.dynamodb = (write_units * PRICES.dynamodb_write_unit
        + read_units * PRICES.dynamodb_read_unit)
        * million;
    cost.sqs_standard = (sqs_requests - fifo_requests) * PRICES.sqs_request * million;
    cost.sqs = cost.sqs_standard + fifo_requests * PRICES.sqs_fifo_request * million;
    cost
}
