//! The latency model configured as the `--aws` runner schedules its work, against such a run
//! on the wall clock. Needs a local AWS API: `scripts/with-moto.sh cargo test -p bench --test
//! latency_check` (without `AWS_ENDPOINT_URL` the test says so and passes: it never talks to
//! AWS itself).
//!
//! What is asserted is the model's arithmetic against the run, not speed: the model, fed the
//! run's own handler, receive, settle and idle-check times, must put the median origin → BCG
//! (every event that reached BCG, the same events on both sides) within [`TOLERANCE`] of the
//! run's.

use std::path::PathBuf;

use bench::latency::{check::table, check_mix, check_scenario};
use scenario_runner::scenario::Scenario;

/// The model's median origin → BCG within this share of the run's.
const TOLERANCE: f64 = 0.35;

/// Events below which a run's median is not compared (a scenario's handful of events: one
/// slow call on a busy machine moves it by more than the tolerance).
const MIN_EVENTS: usize = 50;

fn local_endpoint() -> bool {
    match bench::aws_calls::local_endpoint() {
        Ok(_) => true,
        Err(why) => {
            eprintln!("skipped: {why}");
            false
        }
    }
}

/// What is wrong with `check`, if anything.
fn problems(check: &bench::latency::LatencyCheck) -> Option<String> {
    eprint!("{}", table(check));
    if check.reached_observed == 0 || check.shown_observed == 0 {
        return Some(format!("{}: nothing reached BCG or OSG", check.label));
    }
    if check.reached_model != check.reached_observed {
        return Some(format!(
            "{}: {} events reached BCG, the model has {}",
            check.label, check.reached_observed, check.reached_model
        ));
    }
    if check.reached_observed < MIN_EVENTS {
        // Too few for a median on this shared machine: the counts only.
        return None;
    }
    let row = check.hop("origin → BCG")?;
    let (observed, model) = (row.observed[0], row.model[0]);
    ((model - observed).abs() > TOLERANCE * observed).then(|| {
        format!(
            "{}: origin → BCG model p50 {model:.1} ms, observed {observed:.1} ms",
            check.label
        )
    })
}

/// One test, so that the two runs do not share the machine and moto.
#[tokio::test]
async fn the_model_of_the_runner_predicts_the_median_of_a_scenario_run_and_of_a_mix() {
    if !local_endpoint() {
        return;
    }
    let file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/scenarios/happy-path.json");
    let scenario = Scenario::read(&file).expect("happy path");
    let (scenario, trace) = check_scenario(&scenario, 1).await.expect("scenario run");
    // On the wall clock, the outcome lines are still the contract's.
    let expected =
        std::fs::read_to_string(file.with_extension("expected.jsonl")).expect("expected");
    assert_eq!(scenario_runner::report::json_lines(&trace), expected);
    let mix = bench::mix::generate(300, 8);
    let mix = check_mix(&mix, 1).await.expect("mix run");
    let problems: Vec<String> = [scenario, mix].iter().filter_map(problems).collect();
    assert!(problems.is_empty(), "{problems:?}");
}
