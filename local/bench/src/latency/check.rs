//! The model against a run: a `rewards run --aws` pipeline on the wall clock
//! ([`aws_runner::wall_clock`]), and [`simulate_serial`] configured as that run scheduled its
//! work, compared per hop and origin → OSG.
//!
//! The model's inputs all come from the same run: the MSK batches fed (records and what DEC or
//! MSQ sent on, from the trace), each stage's handler time per invocation (a line
//! `wait + records × cpu` fitted to the trace's invocations of that queue or topic, with the
//! measured spread around it), where each stage's records went (the trace's counts), the share
//! BCG showed, and the measured `ReceiveMessage` and idle-check times. What is compared is
//! what the model adds: the order in which one executor works through the queues and the waits
//! that follow.

use std::collections::BTreeMap;

use aws_runner::wall_clock::{spread_of, Observed, HOPS};
use aws_runner::{AwsRun, AwsSettings};
use rewards_shared::ports::Destination;
use scenario_runner::pipeline::{CPP_TOPIC, EPPM_TOPIC, ONLINE_TOPIC};
use scenario_runner::report::Trace;
use scenario_runner::scenario::Scenario;

use super::serial::{simulate_serial, Feed, Routes, SerialHandler, SerialRunner, ShownTimes, ORDER};
use crate::driver::{feed, CurrentStage, RunTally};
use crate::mix::Mix;
use crate::BenchError;

/// One hop, observed and modelled: p50, p99 and max, ms.
#[derive(Debug, Clone, PartialEq)]
pub struct HopCheck {
    /// The hop's name ([`HOPS`]).
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
    /// Messages OSG showed in the run (CPP path, with every stamp).
    pub shown_observed: usize,
    /// In the model.
    pub shown_model: usize,
    /// Lambda invocations in the run.
    pub invocations: usize,
    /// Mean `ReceiveMessage` that returned messages, ms.
    pub receive_ms: f64,
    /// Mean empty one, ms.
    pub empty_receive_ms: f64,
    /// Mean idle check, ms.
    pub idle_check_ms: f64,
    /// Per hop, then origin → OSG.
    pub hops: Vec<HopCheck>,
}

impl LatencyCheck {
    /// The origin → OSG row.
    pub fn end_to_end(&self) -> Option<&HopCheck> {
        self.hops.iter().find(|h| h.hop == "origin → OSG")
    }
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// Fits `ms = wait + records × cpu` to `(records, ms)` invocations by least squares (a
/// constant when every batch had the same size or the slope comes out negative), with each
/// invocation's ratio to the line as the spread.
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
    SerialHandler {
        time: super::HandlerTime {
            wait_ms: wait,
            cpu_ms: cpu,
        },
        factors,
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
        let values: Vec<f64> = observed
            .receives
            .iter()
            .filter(|r| (r.messages > 0) == full)
            .map(|r| r.elapsed.as_secs_f64() * 1e3)
            .collect();
        mean(&values)
    };
    let idle: Vec<f64> = observed
        .idle_checks
        .iter()
        .map(|d| d.as_secs_f64() * 1e3)
        .collect();
    let runner = SerialRunner {
        dec: fit(&dec),
        msq_online: fit(&online),
        queues,
        receive_ms: receives(true),
        empty_receive_ms: receives(false),
        idle_check_ms: mean(&idle),
    };
    (runner, feeds)
}

/// The model's hops of a shown message, in the order of [`HOPS`].
fn model_hops(s: &ShownTimes) -> [f64; 5] {
    [
        s.tim - s.dec,
        s.fred - s.tim,
        s.bcg - s.fred,
        s.osg - s.bcg,
        s.osg - s.dec,
    ]
}

/// Compares `observed` with the model configured from `trace` and `observed`.
pub fn compare(label: &str, trace: &[Trace], observed: &Observed, seed: u64) -> LatencyCheck {
    let (runner, feeds) = configure(trace, observed);
    let shown = simulate_serial(&runner, &feeds, seed);
    let hops = HOPS
        .iter()
        .enumerate()
        .map(|(index, (name, hop))| {
            let mut seen: Vec<f64> = observed.shown.iter().map(|s| hop(s) as f64).collect();
            let mut model: Vec<f64> = shown.iter().map(|s| model_hops(s)[index]).collect();
            let (a, b, c) = spread_of(&mut seen);
            let (x, y, z) = spread_of(&mut model);
            HopCheck {
                hop: name,
                observed: [a, b, c],
                model: [x, y, z],
            }
        })
        .collect();
    LatencyCheck {
        label: label.to_owned(),
        shown_observed: observed.shown.len(),
        shown_model: shown.len(),
        invocations: trace
            .iter()
            .filter(|t| matches!(t, Trace::Invocation { .. }))
            .count(),
        receive_ms: runner.receive_ms,
        empty_receive_ms: runner.empty_receive_ms,
        idle_check_ms: runner.idle_check_ms,
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

async fn finish(label: &str, mut run: AwsRun, seed: u64) -> Result<LatencyCheck, BenchError> {
    let trace = run.take_trace();
    let observed = run.observed().unwrap_or_default();
    run.delete().await.map_err(aws_error)?;
    Ok(compare(label, &trace, &observed, seed))
}

/// Runs `scenario` as `rewards run --aws` does, on the wall clock, where the default AWS
/// configuration points (`AWS_ENDPOINT_URL`), and checks the model against it.
pub async fn check_scenario(scenario: &Scenario, seed: u64) -> Result<LatencyCheck, BenchError> {
    let mut run = start(scenario).await?;
    run.run_steps(scenario).await.map_err(aws_error)?;
    let label = scenario
        .file
        .file_name()
        .map_or_else(|| "scenario".to_owned(), |f| f.to_string_lossy().into_owned());
    finish(&label, run, seed).await
}

/// Runs `mix` through the `--aws` runner (its queues on SQS, MSK batches of
/// [`crate::driver::MSK_BATCH_SIZE`]), on the wall clock, and checks the model against it.
pub async fn check_mix(mix: &Mix, seed: u64) -> Result<LatencyCheck, BenchError> {
    let mut run = start(&mix.scenario).await?;
    run.tick();
    let mut tally = RunTally::default();
    feed(run.pipeline(), &mix.inputs, &CurrentStage::default(), &mut tally).await;
    run.check(0).map_err(aws_error)?;
    finish(&format!("mix of {} inputs", mix.inputs.len()), run, seed).await
}

/// Lines for a person.
pub fn table(check: &LatencyCheck) -> String {
    let mut out = format!(
        "{}: {} shown (model {}), {} invocations; receive {:.1} ms, empty {:.1} ms, idle check {:.1} ms\n",
        check.label,
        check.shown_observed,
        check.shown_model,
        check.invocations,
        check.receive_ms,
        check.empty_receive_ms,
        check.idle_check_ms
    );
    out.push_str("  hop             observed p50/p99/max ms    model p50/p99/max ms\n");
    for hop in &check.hops {
        out.push_str(&format!(
            "  {:<14} {:>7.0} {:>7.0} {:>7.0}    {:>7.0} {:>7.0} {:>7.0}\n",
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
mod tests {
    use super::*;

    #[test]
    fn the_fit_is_the_line_through_the_invocations() {
        let fitted = fit(&[(1, 12.0), (10, 30.0), (10, 30.0), (1, 12.0)]);
        assert!((fitted.time.wait_ms - 10.0).abs() < 1e-9, "{fitted:?}");
        assert!((fitted.time.cpu_ms - 2.0).abs() < 1e-9, "{fitted:?}");
        assert!(fitted.factors.iter().all(|f| (f - 1.0).abs() < 1e-9));
        let constant = fit(&[(1, 10.0), (1, 30.0)]);
        assert_eq!(constant.time.wait_ms, 20.0);
        assert_eq!(constant.factors, vec![0.5, 1.5]);
    }
}
