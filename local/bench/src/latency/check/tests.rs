use super::*;

use std::time::Duration;

use aws_runner::wall_clock::{EventStamps, Receive, Shown};
use rewards_shared::stage::Stage;

fn invocation(stage: Stage, trigger: &str, elapsed_ms: u64, sends: &[Destination]) -> Trace {
    Trace::Invocation {
        stage,
        trigger: trigger.to_owned(),
        records: 1,
        elapsed: Duration::from_millis(elapsed_ms),
        emitted: sends.iter().map(|d| (*d, 1)).collect(),
        failures: 0,
    }
}

fn receive(destination: Destination, messages: usize, ms: u64) -> Receive {
    Receive {
        destination,
        messages,
        elapsed: Duration::from_millis(ms),
    }
}

#[test]
fn one_event_is_configured_and_played_as_the_run_went() {
    use Destination::*;
    let trace = vec![
        invocation(Stage::Dec, CPP_TOPIC, 10, &[EnrichedEvents]),
        invocation(
            Stage::Tim,
            EnrichedEvents.queue_name(),
            20,
            &[RelevantEvents],
        ),
        invocation(
            Stage::Fred,
            RelevantEvents.queue_name(),
            30,
            &[DecidedEvents],
        ),
        invocation(Stage::Bcg, DecidedEvents.queue_name(), 40, &[]),
    ];
    let at = |ms: i64| chrono::DateTime::UNIX_EPOCH + chrono::Duration::milliseconds(ms);
    let stamps = EventStamps {
        origin: None,
        dec: at(0),
        tim: at(17),
        fred: at(40),
        bcg: at(74),
    };
    let observed = Observed {
        reached_bcg: vec![stamps],
        shown: vec![Shown {
            stamps,
            osg: at(75),
        }],
        receives: vec![
            receive(EnrichedEvents, 1, 2),
            receive(EnrichedEvents, 0, 1),
            receive(RelevantEvents, 1, 2),
            receive(RelevantEvents, 0, 1),
            receive(UnqualificationEvents, 0, 1),
            receive(DecidedEvents, 1, 2),
        ],
        idle_checks: vec![Duration::from_millis(5)],
        settles: Vec::new(),
    };
    let check = compare("one", &trace, &observed, 1);
    // DEC 0–10; idle to 15; receive to 17, TIM 17–37; empty to 38; receive to 40, FRED
    // 40–70; empty to 71; unqualification empty to 72; receive to 74, BCG 74–114.
    let row = |hop: &str| check.hop(hop).map(|h| (h.observed[0], h.model[0]));
    assert_eq!(row("DEC → TIM"), Some((17.0, 17.0)));
    assert_eq!(row("TIM → FRED"), Some((23.0, 23.0)));
    assert_eq!(row("origin → BCG"), Some((74.0, 74.0)));
    assert_eq!(row("origin → OSG"), Some((75.0, 114.0)));
    assert_eq!(check.reached_model, 1);
    assert_eq!(check.shown_model, 1);
    assert_eq!(check.batches_model, [1, 1, 0, 1, 0, 0]);
    assert_eq!(check.to_json()["hops"][3]["modelMillis"]["p50"], 74.0);
}

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
