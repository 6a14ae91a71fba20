//! `rewards bench`: throughput, AWS calls and cost per event, cold start and memory, and the
//! Powertools peer.
//!
//! ```text
//! rewards bench [--events N] [--json FILE] [--seed N]
//!               [--aws] [--aws-events N] [--binaries DIR] [--records N] [--peer]
//!               [--latency-check-events N] [--model-events N]
//! ```
//!
//! - Always: the chain and per-stage throughput of a generated mix on one core ([`throughput`])
//!   and the sizes of the arm64 `bootstrap`s under `target/lambda/` if they were built.
//! - `--aws`: the same mix through the AWS adapters against a local AWS API (moto, at
//!   `AWS_ENDPOINT_URL`, which must be a loopback address), counting calls ([`aws_calls`]), and
//!   the cost per million events from those counts ([`cost`]). Then a second mix
//!   (`--latency-check-events N`, default 1,000; 0 skips it) through the `--aws` runner itself,
//!   its queues on SQS, on the wall clock, against the latency model configured as that runner
//!   schedules its work ([`latency::check`]).
//! - `--binaries DIR`: cold start and peak RSS of the release binaries in `DIR` (x86_64
//!   builds here; [`cold_start`]). Needs `--aws` (the functions call DynamoDB and SQS).
//! - `--peer`: TIM written with Powertools for AWS Lambda (Python), `bench/powertools_tim/`,
//!   measured the same way as TIM's binary ([`peer`]). Needs `--aws` and `--binaries`.
//! - Always, after the rest: the latency model ([`latency`]) fed with the handler times measured
//!   (against moto with `--aws`), origin → OSG p50 and p99 at 10, 1,000 and 10,000 events/s,
//!   and the cost/latency curve of the event sources' batching settings (`--model-events N`
//!   events per rate, default 30,000; 0 skips the model).
//!
//! `scripts/bench.sh` builds what is needed and runs everything. Numbers are printed, and
//! written as JSON with `--json`; nothing here asserts a figure.
#![deny(missing_docs)]

pub mod aws_calls;
pub mod cold_start;
pub mod cost;
pub mod driver;
pub mod latency;
pub mod mix;
pub mod peer;
pub mod report;
pub mod rng;
pub mod runtime_api;
pub mod throughput;

use std::path::PathBuf;

pub use report::Report;

/// What to run: the command line of `rewards bench`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct Options {
    /// Records in the in-memory mix.
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = positive)]
    pub events: usize,
    /// Records in the mix run against the AWS API.
    #[arg(long, value_name = "N", default_value_t = 5_000, value_parser = positive)]
    pub aws_events: usize,
    /// The mix's seed.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = positive_seed)]
    pub seed: u64,
    /// Where to write the JSON report.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Count AWS calls against the local AWS API (`AWS_ENDPOINT_URL`, a loopback address).
    #[arg(long)]
    pub aws: bool,
    /// Where the release binaries are, for cold start and memory (the functions call
    /// DynamoDB and SQS: needs --aws).
    #[arg(long, value_name = "DIR", requires = "aws")]
    pub binaries: Option<PathBuf>,
    /// Records each binary handles before its peak RSS is read.
    #[arg(long, value_name = "N", default_value_t = cold_start::RECORDS, value_parser = positive)]
    pub records: usize,
    /// Run the Powertools peer, compared with TIM's binary (needs --aws and --binaries).
    #[arg(long, requires_all = ["aws", "binaries"])]
    pub peer: bool,
    /// Inputs of the mix run through the `--aws` runner on the wall clock, to check the latency
    /// model against (0: no check; needs --aws).
    #[arg(long, value_name = "N", default_value_t = 1_000, value_parser = count)]
    pub latency_check_events: usize,
    /// Events per rate in the latency model (0: no model).
    #[arg(long, value_name = "N", default_value_t = latency::MAX_EVENTS_PER_RATE, value_parser = count)]
    pub model_events: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            events: 100_000,
            aws_events: 5_000,
            seed: 8,
            json: None,
            aws: false,
            binaries: None,
            records: cold_start::RECORDS,
            peer: false,
            latency_check_events: 1_000,
            model_events: latency::MAX_EVENTS_PER_RATE,
        }
    }
}

/// A number, `_` allowed between digits (`20_000`).
fn count(text: &str) -> Result<usize, String> {
    text.replace('_', "")
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))
}

/// A number above zero.
fn positive(text: &str) -> Result<usize, String> {
    count(text)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{text}` is not a positive number"))
}

/// A seed above zero.
fn positive_seed(text: &str) -> Result<u64, String> {
    positive(text).map(|n| n as u64)
}

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The pipeline could not be built.
    #[error("pipeline: {0}")]
    Pipeline(#[from] scenario_runner::scenario::ScenarioError),
    /// The AWS API is not a local one, or does not answer.
    #[error("aws: {0}")]
    Aws(String),
    /// A process or file.
    #[error("{0}")]
    Io(String),
}

/// Runs what `options` asks for and returns the report.
pub async fn run(options: &Options) -> Result<Report, BenchError> {
    let mut report = Report::new(options);
    eprintln!(
        "bench: generating {} records (seed {})",
        options.events, options.seed
    );
    let mix = mix::generate(options.events, options.seed);
    report.mix = Some(mix.composition.clone());
    eprintln!("bench: in-memory chain on one core");
    report.throughput = Some(throughput::run(&mix).await?);
    report.binary_bytes = cold_start::arm64_sizes(std::path::Path::new("target/lambda"));
    if options.aws {
        let endpoint = aws_calls::local_endpoint().map_err(BenchError::Aws)?;
        eprintln!(
            "bench: {} records through the AWS adapters against {endpoint}",
            options.aws_events
        );
        let aws_mix = mix::generate(options.aws_events, options.seed);
        let calls = aws_calls::run(&aws_mix).await?;
        report.cost = Some(cost::estimate(&calls, report.throughput.as_ref()));
        report.aws = Some(calls);
        if options.latency_check_events > 0 {
            eprintln!(
                "bench: {} records through the --aws runner on the wall clock, against the latency model",
                options.latency_check_events
            );
            let check_mix = mix::generate(options.latency_check_events, options.seed);
            report.latency_check = Some(latency::check_mix(&check_mix, options.seed).await?);
        }
    }
    if let Some(memory) = report
        .throughput
        .as_ref()
        .filter(|_| options.model_events > 0)
    {
        eprintln!("bench: latency model of the event source mappings");
        let chain = latency::chain_from(
            memory,
            report.aws.as_ref(),
            report.cost.as_ref(),
            &latency::PARTNERS,
        );
        report.latency = Some(latency::run(
            chain,
            latency::PARTNERS,
            options.model_events,
            options.seed,
        ));
    }
    if let Some(dir) = &options.binaries {
        eprintln!(
            "bench: cold start and memory of the binaries in {}",
            dir.display()
        );
        let corpus = cold_start::Corpus::build(&mix, options.records).await?;
        match cold_start::run_all(dir, &corpus).await {
            Ok(runs) => report.cold_starts = runs,
            Err(error) => eprintln!("bench: cold start not measured: {error}"),
        }
        if options.peer {
            eprintln!("bench: TIM with Powertools (Python) against TIM's binary");
            match peer::run(dir, &corpus).await {
                Ok(comparison) => report.peer = Some(comparison),
                Err(error) => eprintln!("bench: peer not measured: {error}"),
            }
        }
    }
    Ok(report)
}

/// `rewards bench …`: runs, prints the table (and writes the JSON). Exit status 0 when it
/// ran, 1 when a part could not run.
pub async fn command(options: &Options) -> std::process::ExitCode {
    match run(options).await {
        Ok(report) => {
            print!("{}", report.table());
            if let Some(path) = &options.json {
                let text = serde_json::to_string_pretty(&report.to_json()).unwrap_or_default();
                if let Err(error) = std::fs::write(path, text + "\n") {
                    eprintln!("rewards bench: cannot write {}: {error}", path.display());
                    return std::process::ExitCode::from(1);
                }
            }
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("rewards bench: {error}");
            std::process::ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Command {
        #[command(flatten)]
        options: Options,
    }

    fn parse(text: &str) -> Result<Options, clap::Error> {
        use clap::Parser;
        Command::try_parse_from(std::iter::once("bench").chain(text.split_whitespace()))
            .map(|command| command.options)
    }

    #[test]
    fn options_are_read_and_bad_ones_named() {
        let options = parse("--events 1_000 --json out.json").expect("options");
        assert_eq!(options.events, 1_000);
        assert_eq!(options.json, Some(PathBuf::from("out.json")));
        assert!(!options.aws);
        assert_eq!(parse("").expect("defaults"), Options::default());
        let error = |text: &str| parse(text).expect_err(text).to_string();
        assert!(error("--events 0").contains("positive number"));
        assert!(error("--events").contains("--events"));
        assert!(error("--fast").contains("--fast"));
        assert!(error("--binaries target/release").contains("--aws"));
        assert!(error("--aws --peer").contains("--binaries"));
    }

    /// A smoke test of the shape of the JSON, at a size that says nothing about speed.
    #[tokio::test(flavor = "current_thread")]
    async fn a_tiny_run_writes_the_json_shape_of_issue_8() {
        let options = Options {
            events: 400,
            model_events: 400,
            ..Options::default()
        };
        let report = run(&options).await.expect("bench runs");
        let json = report.to_json();
        for key in [
            "chain",
            "stages",
            "awsCallsPerEvent",
            "lambdaInvocationsPerEvent",
            "costPerMillionEvents",
            "coldStartMillis",
            "binaryBytes",
            "peakRssBytes",
            "peers",
            "latencyMillis",
            "latencyModel",
            "latencyCheck",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        assert_eq!(json["chain"]["events"].as_u64(), Some(392));
        assert!(json["chain"]["cpuMicrosPerEvent"].is_number());
        for rate in ["10", "1000", "10000"] {
            assert!(json["latencyMillis"][rate]["p99"].is_number(), "{rate}");
        }
        for stage in ["dec", "tim", "fred", "des", "bcg", "msq"] {
            assert!(
                json["stages"][stage]["recordsPerSecond"].is_number(),
                "{stage}"
            );
        }
        assert!(report.table().contains("chain, in memory, one core"));
    }
}
