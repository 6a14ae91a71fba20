//! `rewards`: the project's command-line tool.
//!
//! ```text
//! rewards run SCENARIO.json [--json] [--aws]
//! rewards redrive dec|tim|fred|bcg|msq [--dry-run] [--max N]
//! ```
//!
//! `redrive` moves a stage's dead letters back to where they are processed (see
//! `redrive`); `REWARDS_PREFIX` names the stack (`<env>-<brand>`).
//!
//! `--aws` runs it over DynamoDB tables and SQS queues it creates (and deletes) where the AWS
//! configuration points: `AWS_ENDPOINT_URL` (e.g. moto) or AWS.
//!
//! Exit status: 0 when the scenario ran (whatever its outcomes), 2 for an unreadable scenario
//! or bad usage, 1 when AWS (or the local endpoint) failed.

use std::path::PathBuf;
use std::process::ExitCode;

use scenario_runner::{report, run_scenario};

const USAGE: &str = "usage: rewards run SCENARIO.json [--json] [--aws]";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("chaos") {
        return chaos::command(&args[1..]).await;
    }
    if args.first().map(String::as_str) == Some("redrive") {
        return redrive::command(&args[1..]).await;
    }
    if args.first().map(String::as_str) == Some("bench") {
        return bench::command(&args[1..]).await;
    }
    let (Some("run"), Some(path)) = (args.first().map(String::as_str), args.get(1)) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let flags = args.get(2..).unwrap_or_default();
    let (json, aws) = (
        flags.contains(&"--json".into()),
        flags.contains(&"--aws".into()),
    );
    if flags.len() != usize::from(json) + usize::from(aws) {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let result = if aws {
        aws_runner::run_scenario(&PathBuf::from(path)).await
    } else {
        run_scenario(&PathBuf::from(path)).await.map_err(Into::into)
    };
    match result {
        Ok(trace) if json => {
            print!("{}", report::json_lines(&trace));
            ExitCode::SUCCESS
        }
        Ok(trace) => {
            print!("{}", report::readable(&trace));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("rewards: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
