//! The settings swept and the model run: points on the cost/latency curve, per rate.

use super::*;

/// One setting at every rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The setting.
    pub settings: Settings,
    /// Per rate in [`RATES`].
    pub outcomes: Vec<Outcome>,
}

impl Point {
    /// The worst p99 over the rates.
    pub fn worst_p99(&self) -> f64 {
        self.outcomes.iter().map(|o| o.p99_ms).fold(0.0, f64::max)
    }

    /// The mean cost per million over the rates.
    pub fn mean_cost(&self) -> f64 {
        self.outcomes
            .iter()
            .map(|o| o.cost_per_million)
            .sum::<f64>()
            / self.outcomes.len().max(1) as f64
    }
}

/// Runs a setting at every rate.
pub fn point(
    chain: &Chain,
    settings: Settings,
    partners: &PartnerLatencies,
    cap: usize,
    seed: u64,
) -> Point {
    Point {
        settings,
        outcomes: RATES
            .iter()
            .map(|rate| {
                simulate(
                    chain,
                    &settings,
                    partners,
                    *rate,
                    events_at(*rate, cap),
                    seed,
                )
            })
            .collect(),
    }
}

/// The settings tried: MSK batch and window, FIFO batch, concurrency (the standard queues are
/// off the CPP path and keep their batch of 100 with a 1 s window).
pub fn candidates() -> Vec<Settings> {
    let mut out = Vec::new();
    for msk_batch in [100, 500, 1_000] {
        for msk_window_ms in [0.0, 100.0, 250.0, 500.0, 1_000.0] {
            for fifo_batch in [1, 10] {
                for max_concurrency in [10, 50] {
                    out.push(Settings {
                        msk_batch,
                        msk_window_ms,
                        fifo_batch,
                        max_concurrency,
                        ..TEMPLATE
                    });
                }
            }
        }
    }
    out
}

/// Every candidate at every rate, and the cheapest whose p99 meets the target at every rate.
pub fn sweep(
    chain: &Chain,
    partners: &PartnerLatencies,
    cap: usize,
    seed: u64,
) -> (Vec<Point>, Option<usize>) {
    let points: Vec<Point> = candidates()
        .into_iter()
        .map(|settings| point(chain, settings, partners, cap, seed))
        .collect();
    let best = points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.worst_p99() <= P99_TARGET_MS)
        .min_by(|a, b| a.1.mean_cost().total_cmp(&b.1.mean_cost()))
        .map(|(i, _)| i);
    (points, best)
}

/// The model's inputs from the in-memory run (CPU per record, shares passed on) and, when the
/// bench ran `--aws`, the run against moto (wait per invocation, DynamoDB and standard-queue
/// cost).
pub fn chain_from(
    memory: &crate::throughput::Throughput,
    aws: Option<&crate::aws_calls::AwsCalls>,
    cost: Option<&crate::cost::Cost>,
    partners: &PartnerLatencies,
) -> Chain {
    let stage = |stage: Stage, default_wait_ms: f64| {
        let tally = memory.tally.stages.get(&stage);
        let records = tally.map_or(0, |t| t.records).max(1) as f64;
        let mut cpu_ms = tally.map_or(0.0, |t| t.elapsed.as_secs_f64() * 1e3) / records;
        if stage == Stage::Fred {
            cpu_ms -= memory.tally.des_requests as f64 * memory.des_micros_per_call / 1e3 / records;
        }
        let cpu_ms = cpu_ms.max(0.0);
        let pass = tally.map_or(1.0, |t| (t.emitted as f64 / records).min(1.0));
        let wait_ms = aws
            .and_then(|aws| aws.tally.stages.get(&stage))
            .filter(|t| t.invocations > 0)
            .map(|t| {
                let per_invocation = t.elapsed.as_secs_f64() * 1e3 / t.invocations as f64;
                let records = t.records as f64 / t.invocations as f64;
                (per_invocation - cpu_ms * records).max(0.0)
            })
            .unwrap_or(default_wait_ms);
        (stage, HandlerTime { wait_ms, cpu_ms }, pass)
    };
    let stages = [
        stage(Stage::Dec, partners.sqs_send_ms),
        stage(
            Stage::Tim,
            partners.dynamodb_write_ms + partners.sqs_send_ms,
        ),
        stage(Stage::Fred, partners.sqs_send_ms),
        (stage(Stage::Bcg, 0.0).0, stage(Stage::Bcg, 0.0).1, 1.0),
    ];
    let des_events = memory.des_events_per_call.max(1.0);
    Chain {
        stages,
        des_cpu_ms: memory.des_micros_per_call / des_events / 1e3,
        dynamodb_per_million: cost.map_or(
            // TIM's one write unit per event it handles, without a run against moto.
            stages[0].2 * crate::cost::PRICES.dynamodb_write_unit * 1e6,
            |c| c.dynamodb,
        ),
        standard_sqs_per_million: cost.map_or(0.0, |c| c.sqs_standard),
    }
}

/// What the model reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Its inputs.
    pub chain: Chain,
    /// The partner latencies used.
    pub partners: PartnerLatencies,
    /// The template's default settings ([`TEMPLATE`]) at every rate.
    pub template: Point,
    /// Every candidate (the cost/latency curve).
    pub curve: Vec<Point>,
    /// The cheapest candidate meeting the p99 target at every rate.
    pub best: Option<usize>,
}

/// Runs the model: the template's settings, and the sweep; at most `cap` events per rate.
pub fn run(chain: Chain, partners: PartnerLatencies, cap: usize, seed: u64) -> Model {
    let (curve, best) = sweep(&chain, &partners, cap, seed);
    Model {
        template: point(&chain, TEMPLATE, &partners, cap, seed),
        chain,
        partners,
        curve,
        best,
    }
}
