//! The whole chain over a local AWS API (moto): `rewards run --aws` drives every stage's real
//! handler over DynamoDB tables and SQS queues it creates, polled as Lambda's event source
//! mappings poll them.
//!
//! Run: `scripts/with-moto.sh cargo test -p rewards-tests --test aws_chain`. Without a
//! reachable `AWS_ENDPOINT_URL` the tests fail, naming that command. Each run creates its own
//! tables and queues under a unique prefix, so the tests (and the scenarios within one test)
//! run in parallel on one server; each deletes them at the end.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_runner::{AwsRun, AwsSettings};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use rewards_shared::model::MessageType;
use rewards_shared::ports::{Destination, Outcome};
use rewards_shared::stage::Stage;
use rewards_tests::{attribute, moto_config, receive, MAX_RECEIVE_COUNT};
use scenario_runner::report::{self, Trace};
use scenario_runner::{run_scenario, Pipeline, Scenario};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/scenarios")
}

fn scenarios() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .expect("events/scenarios exists")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

fn read(file: &Path) -> Scenario {
    Scenario::read(file).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `scenario` over moto; returns what happened and the run (its resources still there).
async fn run_over_moto(
    config: &SdkConfig,
    scenario: &Scenario,
    settings: AwsSettings,
) -> (Vec<Trace>, AwsRun) {
    let mut run = AwsRun::start(scenario, config, settings)
        .await
        .unwrap_or_else(|e| panic!("{}: set-up: {e}", scenario.file.display()));
    run.run_steps(scenario)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", scenario.file.display()));
    let trace = run.take_trace();
    (trace, run)
}

/// The queue names of a prefix that moto still lists.
async fn queues_left(client: &aws_sdk_sqs::Client, prefix: &str) -> Vec<String> {
    client
        .list_queues()
        .queue_name_prefix(prefix)
        .send()
        .await
        .expect("list queues")
        .queue_urls
        .unwrap_or_default()
}

async fn depth(client: &aws_sdk_sqs::Client, url: &str) -> usize {
    let attributes = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        QueueAttributeName::ApproximateNumberOfMessagesDelayed,
    ]
    .iter()
    .filter_map(|name| attributes.get(name)?.parse::<usize>().ok())
    .sum()
}

fn outcomes(trace: &[Trace]) -> Vec<&Outcome> {
    trace
        .iter()
        .filter_map(|entry| match entry {
            Trace::Outcome(outcome) => Some(outcome),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn every_scenario_gives_the_same_outcome_lines_over_moto_as_in_memory() {
    let config = moto_config().await;
    let files = scenarios();
    assert!(files.len() >= 6, "the sample scenarios: {files:?}");
    let started = Instant::now();
    let runs = files.iter().map(|file| {
        let config = &config;
        async move {
            let scenario = read(file);
            let settings = AwsSettings::for_config(config);
            let prefix = settings.prefix.clone();
            let (trace, run) = run_over_moto(config, &scenario, settings).await;
            let sqs = run.sqs().clone();
            run.delete()
                .await
                .unwrap_or_else(|e| panic!("{}: clean-up: {e}", file.display()));
            let left = queues_left(&sqs, &prefix).await;
            (file, report::json_lines(&trace), left)
        }
    });
    let results = futures::future::join_all(runs).await;
    let mut mismatches = Vec::new();
    for (file, actual, left) in results {
        let expected_file = file.with_extension("expected.jsonl");
        let expected = std::fs::read_to_string(&expected_file)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_file.display()));
        let in_memory =
            report::json_lines(&run_scenario(file).await.unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(in_memory, expected, "in memory: {}", file.display());
        if actual != expected {
            mismatches.push(format!(
                "{}:\n--- expected (in memory)\n{expected}--- over moto\n{actual}",
                file.display()
            ));
        }
        assert!(left.is_empty(), "{}: queues left: {left:?}", file.display());
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    eprintln!(
        "{} scenarios over moto in {:.1} s",
        files.len(),
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test]
async fn the_runner_entry_point_runs_over_the_configured_endpoint() {
    // What `rewards run --aws` calls: the SDK configuration from the environment (moto here).
    moto_config().await;
    let file = scenarios_dir().join("happy-path.json");
    let trace = aws_runner::run_scenario(&file)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        report::json_lines(&trace),
        std::fs::read_to_string(file.with_extension("expected.jsonl")).expect("expected")
    );
    let readable = report::readable(&trace);
    assert!(readable.contains("from cpp-enriched-events"), "{readable}");
}

#[tokio::test]
async fn a_record_failing_every_time_ends_in_its_stage_dead_letter_queue_after_max_receive_count() {
    let config = moto_config().await;
    // The happy path's opt-in with no OPT_IN template: BCG reports the decided event as a
    // batch item failure on every delivery, so SQS moves it to BCG's dead-letter queue.
    let mut scenario = read(&scenarios_dir().join("happy-path.json"));
    scenario
        .templates
        .retain(|template| template.message_type != MessageType::OptIn);
    scenario.steps.truncate(1);
    // Two seconds, not one: on a loaded machine a one-second visibility time-out could expire
    // while BCG still handled the record, and the extra delivery broke the count (seen once).
    let settings = AwsSettings::for_config(&config).with_visibility_timeout(Duration::from_secs(2));
    let started = Instant::now();
    let (trace, run) = run_over_moto(&config, &scenario, settings).await;
    let elapsed = started.elapsed();

    // BCG ran once per delivery, each time reporting the record.
    let bcg_failures: Vec<usize> = trace
        .iter()
        .filter_map(|entry| match entry {
            Trace::Invocation {
                stage: Stage::Bcg,
                failures,
                ..
            } => Some(*failures),
            _ => None,
        })
        .collect();
    assert_eq!(
        bcg_failures,
        vec![1; MAX_RECEIVE_COUNT as usize],
        "{trace:#?}"
    );

    // The one outcome: dead-lettered at BCG after five receives.
    let aws_outcomes = outcomes(&trace);
    let [Outcome::DeadLettered { stage, reason }] = aws_outcomes.as_slice() else {
        panic!("one dead-lettered outcome expected: {aws_outcomes:?}");
    };
    assert_eq!(*stage, Stage::Bcg);
    let message_id = reason
        .strip_prefix("retries-exhausted: message ")
        .and_then(|rest| rest.strip_suffix(" received 5 times"))
        .unwrap_or_else(|| panic!("reason: {reason}"))
        .to_owned();

    // The same as in memory, but for the message id.
    let mut memory = Pipeline::in_memory(&scenario).expect("in-memory pipeline");
    memory.feed(1, &scenario.steps[0]).await;
    let memory_trace = memory.into_trace();
    let memory_outcomes = outcomes(&memory_trace);
    let [Outcome::DeadLettered {
        stage: memory_stage,
        reason: memory_reason,
    }] = memory_outcomes.as_slice()
    else {
        panic!("in memory: {memory_outcomes:?}");
    };
    assert_eq!(*memory_stage, *stage);
    assert!(
        memory_reason.starts_with("retries-exhausted: message ")
            && memory_reason.ends_with(" received 5 times"),
        "{memory_reason}"
    );

    // In moto's dead-letter queue of BCG: the same message, body and attributes as sent by
    // FRED, received five times before it moved.
    let resources = run.resources().clone();
    let sqs = run.sqs().clone();
    let dlq = resources
        .dead_letter_queue_of(Destination::DecidedEvents)
        .expect("BCG's dead-letter queue");
    assert!(dlq.name.ends_with("-bcg-dlq.fifo"), "{}", dlq.name);
    let letters = receive(&sqs, &dlq.url, 1, Duration::from_secs(5)).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter.message_id(), Some(message_id.as_str()));
    assert_eq!(attribute(letter, "ce-type"), Some("rewards.decided"));
    assert!(attribute(letter, "correlation-id").is_some_and(|id| !id.is_empty()));
    let body: serde_json::Value =
        serde_json::from_str(letter.body().unwrap_or_default()).expect("a CloudEvent");
    assert_eq!(body["type"], "rewards.decided");
    assert_eq!(body["subject"], "10048213");
    let received: Option<u32> = letter
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|count| count.parse().ok());
    assert!(received.is_some_and(|count| count >= 1), "{letter:?}");

    // Nothing left in the input queues; no other dead-letter queue got anything.
    for queue in resources.queues.values() {
        assert_eq!(depth(&sqs, &queue.url).await, 0, "{}", queue.name);
    }
    for (stage, queue) in &resources.dead_letter_queues {
        if *stage != Stage::Bcg {
            assert_eq!(depth(&sqs, &queue.url).await, 0, "{}", queue.name);
        }
    }
    run.delete().await.expect("clean-up");
    assert!(queues_left(&sqs, &resources.prefix).await.is_empty());
    // Four visibility time-outs between the five deliveries, one more before SQS moves it.
    assert!(
        elapsed < Duration::from_secs(45),
        "took {:.1} s",
        elapsed.as_secs_f64()
    );
}

#[tokio::test]
async fn bad_records_go_alone_to_their_stage_dead_letter_queue_with_the_reason() {
    let config = moto_config().await;
    let scenario = read(&scenarios_dir().join("bad-input-among-good.json"));
    let settings = AwsSettings::for_config(&config);
    let (trace, run) = run_over_moto(&config, &scenario, settings).await;
    let reasons: Vec<String> = outcomes(&trace)
        .into_iter()
        .filter_map(|outcome| match outcome {
            Outcome::DeadLettered {
                stage: Stage::Dec,
                reason,
            } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");

    let sqs = run.sqs().clone();
    let resources = run.resources().clone();
    let dlq = &resources.dead_letter_queues[&Stage::Dec];
    let letters = receive(&sqs, &dlq.url, 4, Duration::from_secs(5)).await;
    assert_eq!(letters.len(), 4, "{letters:?}");
    let mut stored: Vec<String> = letters
        .iter()
        .map(|letter| {
            assert_eq!(attribute(letter, "stage"), Some("dec"));
            let source = attribute(letter, "source").unwrap_or_default();
            assert!(
                source.starts_with("local.rewards.cpp.activity/0@"),
                "{source}"
            );
            attribute(letter, "reason").unwrap_or_default().to_owned()
        })
        .collect();
    let mut expected = reasons.clone();
    stored.sort();
    expected.sort();
    assert_eq!(stored, expected);
    assert!(letters
        .iter()
        .any(|letter| letter.body() == Some("this is not JSON")));
    run.delete().await.expect("clean-up");
}

/// `rewards chaos --aws` at a small size: the same ledger over the DynamoDB and SQS adapters
/// on moto (SQS's own FIFO order, deduplication and redelivery), faults at the ports; nothing
/// lost, nothing shown twice. `scripts/chaos-aws.sh` runs 2,000 events. It needs the moto of
/// scripts/with-moto.sh, whose FIFO queues keep group order (tests/sqs_fifo_emulation.rs).
#[tokio::test]
async fn the_chaos_run_over_moto_loses_nothing_and_shows_nothing_twice() {
    let options = chaos::Options {
        events: 150,
        seed: 11,
        duplicate_share: 0.05,
        json: None,
        aws: true,
    };
    let report = chaos::run(&options)
        .await
        .expect("the chaos run over moto runs");
    let summary = report.readable();
    assert!(report.figures.expected > 20, "{summary}");
    assert!(report.passed(), "{summary}");
    let faults = report.faults;
    assert!(
        faults.pph_5xx + faults.osg_5xx + faults.tim_throttles > 0,
        "no fault fired: {summary}"
    );
}
