//! The model against a run: a `rewards run --aws` pipeline on the wall clock
//! ([`aws_runner::wall_clock`]), and [`simulate_serial`] configured as that run scheduled its
//! work, compared per hop (every event that reached BCG) and origin → OSG (the shown ones).
//!
//! The model's inputs all come from the same run: the MSK batches fed (records, what DEC or
//! MSQ sent on, and the handler time each took, from the trace), each queue's handler time per
//! invocation (one of the measured times of batches of that size, or a line
//! `wait + records × cpu` fitted to the queue's invocations with the measured spread around it),
//! where each stage's records went (the trace's counts), the share BCG showed, and the measured
//! `ReceiveMessage`, settle and idle-check times (drawn per call). What is compared is
//! what the model adds: the order in which one executor works through the queues and the waits
//! that follow.

use std::collections::BTreeMap;

use aws_runner::wall_clock::{spread_of, Observed, HOPS, SHOWN_HOPS};
use aws_runner::{AwsRun, AwsSettings};
use rewards_shared::ports::Destination;
use scenario_runner::pipeline::{CPP_TOPIC, EPPM_TOPIC, ONLINE_TOPIC};
use scenario_runner::report::Trace;
use scenario_runner::scenario::Scenario;

use super::serial::{
    simulate_serial, BcgTimes, Feed, Routes, Samples, SerialHandler, SerialRun, SerialRunner, ORDER,
};
use crate::driver::{feed, CurrentStage, RunTally};
use crate::mix::Mix;
use crate::BenchError;

/// One hop, observed and modelled: p50, p99 and max, ms.
#[derive(Debug, Clone, PartialEq)]
pub struct HopCheck {
    /// The hop's name ([`HOPS`], [`SHOWN_HOPS`]).
    pub hop: &'static str,
    /// In the run.
    pub observed: [f64; 3],
    /// In the model.
    pub model: [f64; 3],
}

/// The model against one run.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyCheck {
    /// What ran.
    pub label: String,
    /// Events that reached BCG on the CPP path in the run.
    pub reached_observed: usize,
    /// In the model.
    pub reached_model: usize,
    /// Messages OSG showed in the run (CPP path, with every stamp).
    pub shown_observed: usize,
    /// In the model.
    pub shown_model: usize,
    /// Lambda invocations in the run.
    pub invocations: usize,
    /// Invocations per queue (in the runner's drain order), in the run.
    pub batches_observed: [usize; 6],
    /// In the model.
    pub batches_model: [usize; 6],
    /// From the first origin to the last BCG start, ms, in the run.
    pub span_observed_ms: f64,
    /// In the model.
    pub span_model_ms: f64,
    /// Handler, receive, settle and idle-check times of the run, summed, ms: what the model
    /// plays.
    pub accounted_ms: f64,
    /// The slowest single measured part (an invocation, receive, settle or idle check), ms:
    /// one slow call delays every event in flight at once, a cluster in the run's tail.
    pub slowest_part_ms: f64,
    /// Mean `ReceiveMessage` that returned messages, ms.
    pub receive_ms: f64,
    /// Mean empty one, ms.
    pub empty_receive_ms: f64,
    /// Mean idle check, ms.
    pub idle_check_ms: f64,
    /// Mean settle, ms.
    pub settle_ms: f64,
    /// Per hop, then origin → OSG.
    pub hops: Vec<HopCheck>,
}

impl LatencyCheck {
    /// The row of `hop`.
    pub fn hop(&self, hop: &str) -> Option<&HopCheck> {
        self.hops.iter().find(|h| h.hop == hop)
    }
}

/// Fits `ms = wait + records × cpu` to `(records, ms)` invocations by least squares (a
/// constant when every batch had the same size or the slope comes out negative), with each
/// invocation's ratio to the line as the spread, and keeps the measured times by batch size.
pub fn fit(invocations: &[(usize, f64)]) -> SerialHandler {
    if invocations.is_empty() {
        return SerialHandler::fixed(0.0, 0.0);
    }
    let n = invocations.len() as f64;
    let mx = invocations.iter().map(|(r, _)| *r as f64).sum::<f64>() / n;
    let my = invocations.iter().map(|(_, y)| *y).sum::<f64>() / n;
    let sxx: f64 = invocations
        .iter()
        .map(|(r, _)| (*r as f64 - mx).powi(2))
        .sum();
    let sxy: f64 = invocations
        .iter()
        .map(|(r, y)| (*r as f64 - mx) * (y - my))
        .sum();
    let (mut wait, mut cpu) = if sxx > 0.0 && sxy > 0.0 {
        let cpu = sxy / sxx;
        (my - cpu * mx, cpu)
    } else {
        (my, 0.0)
    };
    if wait < 0.0 {
        cpu = my / mx.max(1.0);
        wait = 0.0;
    }
    let factors = invocations
        .iter()
        .map(|(r, y)| {
            let line = wait + cpu * *r as f64;
            if line > 0.0 {
                y / line
            } else {
                1.0
            }
        })
        .collect();
    let mut by_size: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for (records, ms) in invocations {
        by_size.entry(*records).or_default().push(*ms);
    }
    SerialHandler {
        time: super::HandlerTime {
            wait_ms: wait,
            cpu_ms: cpu,
        },
        factors,
        by_size,
    }
}

fn sent_of(emitted: &BTreeMap<Destination, usize>) -> [usize; 6] {
    let mut sent = [0; 6];
    for (index, destination) in ORDER.iter().enumerate() {
        sent[index] = emitted.get(destination).copied().unwrap_or(0);
    }
    sent
}

/// The runner as `trace` and `observed` show it, and the MSK batches it fed.
pub fn configure(trace: &[Trace], observed: &Observed) -> (SerialRunner, Vec<Feed>) {
    let mut feeds = Vec::new();
    let mut dec = Vec::new();
    let mut online = Vec::new();
    let mut per_queue: [Vec<(usize, f64)>; 6] = Default::default();
    let mut records_of = [0usize; 6];
    let mut sent_by = [[0usize; 6]; 6];
    for entry in trace {
        let Trace::Invocation {
            stage,
            trigger,
            records,
            elapsed,
            emitted,
            ..
        } = entry
        else {
            continue;
        };
        let ms = elapsed.as_secs_f64() * 1e3;
        let sent = sent_of(emitted);
        if trigger == CPP_TOPIC || trigger == EPPM_TOPIC || trigger == ONLINE_TOPIC {
            if trigger == ONLINE_TOPIC {
                online.push((*records, ms));
            } else {
                dec.push((*records, ms));
            }
            feeds.push(Feed {
                stage: *stage,
                records: *records,
                sent,
                elapsed_ms: Some(ms),
            });
        } else if let Some(index) = ORDER.iter().position(|d| d.queue_name() == trigger) {
            per_queue[index].push((*records, ms));
            records_of[index] += records;
            for (to, count) in sent.iter().enumerate() {
                sent_by[index][to] += count;
            }
        }
    }
    let decided = ORDER
        .iter()
        .position(|d| *d == Destination::DecidedEvents)
        .unwrap_or(3);
    let queues = std::array::from_fn(|index| {
        let handled = records_of[index].max(1) as f64;
        let mut routes = Routes::default();
        for (to, count) in sent_by[index].iter().enumerate() {
            routes.to_queue[to] = *count as f64 / handled;
        }
        if index == decided {
            routes.to_osg = (observed.shown.len() as f64 / handled).min(1.0);
        }
        (fit(&per_queue[index]), routes)
    });
    let receives = |full: bool| {
        ORDER.map(|destination| {
            Samples(
                observed
                    .receives
                    .iter()
                    .filter(|r| r.destination == destination && (r.messages > 0) == full)
                    .map(|r| r.elapsed.as_secs_f64() * 1e3)
                    .collect(),
            )
        })
    };
    let settles = ORDER.map(|destination| {
        Samples(
            observed
                .settles
                .iter()
                .filter(|(d, _)| *d == destination)
                .map(|(_, elapsed)| elapsed.as_secs_f64() * 1e3)
                .collect(),
        )
    });
    let samples = |values: &[std::time::Duration]| {
        Samples(values.iter().map(|d| d.as_secs_f64() * 1e3).collect())
    };
    let runner = SerialRunner {
        dec: fit(&dec),
        msq_online: fit(&online),
        queues,
        receive: receives(true),
        empty_receive: receives(false),
        idle_check: samples(&observed.idle_checks),
        settle: settles,
    };
    (runner, feeds)
}

/// The model's hops of an event that reached BCG, in the order of [`HOPS`].
fn model_hops(s: &BcgTimes) -> [f64; 4] {
    [s.tim - s.dec, s.fred - s.tim, s.bcg - s.fred, s.bcg - s.dec]
}

/// The model's hops of a shown message, in the order of [`SHOWN_HOPS`] (shown by the end of
/// BCG's invocation).
fn model_shown_hops(s: &BcgTimes) -> [f64; 2] {
    [s.end - s.bcg, s.end - s.dec]
}

fn row(hop: &'static str, mut observed: Vec<f64>, mut model: Vec<f64>) -> HopCheck {
    let (a, b, c) = spread_of(&mut observed);
    let (x, y, z) = spread_of(&mut model);
    HopCheck {
        hop,
        observed: [a, b, c],
        model: [x, y, z],
    }
}

/// Runs of the model per check, pooled: the model's percentiles are those of its distribution,
/// not of one draw of as few events as the run had.
pub const MODEL_RUNS: u64 = 50;

/// Compares `observed` with the model configured from `trace` and `observed` ([`MODEL_RUNS`]
/// runs pooled; counts and spans from the first).
pub fn compare(label: &str, trace: &[Trace], observed: &Observed, seed: u64) -> LatencyCheck {
    let (runner, feeds) = configure(trace, observed);
    let runs: Vec<SerialRun> = (0..MODEL_RUNS)
        .map(|k| simulate_serial(&runner, &feeds, seed.wrapping_add(k)))
        .collect();
    let played = &runs[0];
    let reached: Vec<BcgTimes> = runs.iter().flat_map(|r| r.reached.clone()).collect();
    let shown: Vec<BcgTimes> = reached.iter().copied().filter(|r| r.shown).collect();
    let mut hops: Vec<HopCheck> = HOPS
        .iter()
        .enumerate()
        .map(|(index, (name, hop))| {
            row(
                name,
                observed.reached_bcg.iter().map(hop).collect(),
                reached.iter().map(|s| model_hops(s)[index]).collect(),
            )
        })
        .collect();
    hops.extend(SHOWN_HOPS.iter().enumerate().map(|(index, (name, hop))| {
        row(
            name,
            observed.shown.iter().map(hop).collect(),
            shown.iter().map(|s| model_shown_hops(s)[index]).collect(),
        )
    }));
    let first = observed.reached_bcg.iter().map(|s| s.dec).min();
    let span_observed_ms = match (first, observed.reached_bcg.iter().map(|s| s.bcg).max()) {
        (Some(first), Some(last)) => (last - first).num_microseconds().unwrap_or(0) as f64 / 1e3,
        _ => 0.0,
    };
    let span_model_ms = match (
        played.reached.iter().map(|s| s.dec).reduce(f64::min),
        played.reached.iter().map(|s| s.bcg).reduce(f64::max),
    ) {
        (Some(first), Some(last)) => last - first,
        _ => 0.0,
    };
    let handler_ms: f64 = trace
        .iter()
        .filter_map(|t| match t {
            Trace::Invocation { elapsed, .. } => Some(elapsed.as_secs_f64() * 1e3),
            _ => None,
        })
        .sum();
    let pooled = |per_queue: &[Samples; 6]| {
        Samples(per_queue.iter().flat_map(|s| s.0.iter().copied()).collect())
    };
    let (receive, empty_receive, settle) = (
        pooled(&runner.receive),
        pooled(&runner.empty_receive),
        pooled(&runner.settle),
    );
    let calls_ms: f64 = [&receive, &empty_receive, &settle, &runner.idle_check]
        .iter()
        .map(|samples| samples.0.iter().sum::<f64>())
        .sum();
    LatencyCheck {
        label: label.to_owned(),
        reached_observed: observed.reached_bcg.len(),
        reached_model: played.reached.len(),
        shown_observed: observed.shown.len(),
        shown_model: played.shown().len(),
        invocations: trace
            .iter()
            .filter(|t| matches!(t, Trace::Invocation { .. }))
            .count(),
        batches_observed: ORDER.map(|d| {
            trace
                .iter()
                .filter(
                    |t| matches!(t, Trace::Invocation { trigger, .. } if trigger == d.queue_name()),
                )
                .count()
        }),
        batches_model: played.batches,
        span_observed_ms,
        span_model_ms,
        accounted_ms: handler_ms + calls_ms,
        slowest_part_ms: trace
            .iter()
            .filter_map(|t| match t {
                Trace::Invocation { elapsed, .. } => Some(elapsed.as_secs_f64() * 1e3),
                _ => None,
            })
            .chain(
                [&receive, &empty_receive, &settle, &runner.idle_check]
                    .iter()
                    .flat_map(|s| s.0.iter().copied()),
            )
            .fold(0.0, f64::max),
        receive_ms: receive.mean(),
        empty_receive_ms: empty_receive.mean(),
        idle_check_ms: runner.idle_check.mean(),
        settle_ms: settle.mean(),
        hops,
    }
}

fn aws_error(error: impl std::fmt::Display) -> BenchError {
    BenchError::Aws(error.to_string())
}

async fn start(scenario: &Scenario) -> Result<AwsRun, BenchError> {
    let config = rewards_shared::aws::load_sdk_config().await;
    let mut settings = AwsSettings::for_config(&config);
    settings.wall_clock = true;
    AwsRun::start(scenario, &config, settings)
        .await
        .map_err(aws_error)
}

async fn finish(
    label: &str,
    run: AwsRun,
    trace: &[Trace],
    seed: u64,
) -> Result<LatencyCheck, BenchError> {
    let observed = run.observed().unwrap_or_default();
    run.delete().await.map_err(aws_error)?;
    Ok(compare(label, trace, &observed, seed))
}

/// Runs `scenario` as `rewards run --aws` does, on the wall clock, where the default AWS
/// configuration points (`AWS_ENDPOINT_URL`), and checks the model against it; with what
/// happened.
pub async fn check_scenario(
    scenario: &Scenario,
    seed: u64,
) -> Result<(LatencyCheck, Vec<Trace>), BenchError> {
    let mut run = start(scenario).await?;
    run.run_steps(scenario).await.map_err(aws_error)?;
    let label = scenario.file.file_name().map_or_else(
        || "scenario".to_owned(),
        |f| f.to_string_lossy().into_owned(),
    );
    let trace = run.take_trace();
    let check = finish(&label, run, &trace, seed).await?;
    Ok((check, trace))
}

/// Runs `mix` through the `--aws` runner (its queues on SQS, MSK batches of
/// [`crate::driver::MSK_BATCH_SIZE`]), on the wall clock, and checks the model against it.
pub async fn check_mix(mix: &Mix, seed: u64) -> Result<LatencyCheck, BenchError> {
    let mut run = start(&mix.scenario).await?;
    run.tick();
    let mut tally = RunTally {
        trace: Some(Vec::new()),
        ..RunTally::default()
    };
    feed(
        run.pipeline(),
        &mix.inputs,
        &CurrentStage::default(),
        &mut tally,
    )
    .await;
    run.check(0).map_err(aws_error)?;
    let trace = tally.trace.unwrap_or_default();
    finish(
        &format!("mix of {} inputs", mix.inputs.len()),
        run,
        &trace,
        seed,
    )
    .await
}

impl LatencyCheck {
    /// The check as JSON (`latencyCheck` of `rewards bench --json`).
    pub fn to_json(&self) -> serde_json::Value {
        let round = |v: f64| (v * 10.0).round() / 10.0;
        let triple = |t: &[f64; 3]| serde_json::json!({"p50": round(t[0]), "p99": round(t[1]), "max": round(t[2])});
        serde_json::json!({
            "run": self.label,
            "reachedBcg": {"observed": self.reached_observed, "model": self.reached_model},
            "shownByOsg": {"observed": self.shown_observed, "model": self.shown_model},
            "invocations": self.invocations,
            "slowestPartMillis": round(self.slowest_part_ms),
            "batchesPerQueue": {"observed": self.batches_observed, "model": self.batches_model},
            "callMillis": {"receive": round(self.receive_ms), "emptyReceive": round(self.empty_receive_ms),
                           "settle": round(self.settle_ms), "idleCheck": round(self.idle_check_ms)},
            "hops": self.hops.iter().map(|h| serde_json::json!({
                "hop": h.hop, "observedMillis": triple(&h.observed), "modelMillis": triple(&h.model)
            })).collect::<Vec<_>>(),
        })
    }
}

/// Lines for a person.
pub fn table(check: &LatencyCheck) -> String {
    let mut out = format!(
        "{}: {} reached BCG (model {}), {} shown (model {}), {} invocations; receive {:.1} ms, empty {:.1} ms, settle {:.1} ms, idle check {:.1} ms\n",
        check.label,
        check.reached_observed,
        check.reached_model,
        check.shown_observed,
        check.shown_model,
        check.invocations,
        check.receive_ms,
        check.empty_receive_ms,
        check.settle_ms,
        check.idle_check_ms
    );
    out.push_str(&format!(
        "  batches per queue {:?} (model {:?}); first origin to last BCG start {:.0} ms (model {:.0}); measured parts {:.0} ms, slowest {:.0} ms\n",
        check.batches_observed, check.batches_model, check.span_observed_ms, check.span_model_ms, check.accounted_ms, check.slowest_part_ms
    ));
    out.push_str("  hop             observed p50/p99/max ms    model p50/p99/max ms\n");
    for hop in &check.hops {
        out.push_str(&format!(
            "  {:<14} {:>7.1} {:>7.1} {:>7.1}    {:>7.1} {:>7.1} {:>7.1}\n",
            hop.hop,
            hop.observed[0],
            hop.observed[1],
            hop.observed[2],
            hop.model[0],
            hop.model[1],
            hop.model[2]
        ));
    }
    out
}

#[cfg(test)]
mod tests;
