//! `rewards`: the project's command-line tool.
//!
//! ```text
//! rewards run SCENARIO.json [--json | --mermaid] [--aws]
//! rewards chaos [--events N] [--seed S] [--duplicate-share F] [--json FILE] [--aws]
//! rewards bench [--events N] [--json FILE] [--seed N] [--aws] [--aws-events N] …
//! rewards redrive dec|tim|fred|bcg|msq [--dry-run] [--max N]
//! ```
//!
//! `rewards --help` and `rewards <command> --help` say the rest. This file only parses the
//! command line and hands each command to its crate: [`scenario_runner`] (and [`aws_runner`]
//! with `--aws`), [`chaos`], [`bench`], [`redrive`].
//!
//! Exit status of `run`: 0 when the scenario ran (whatever its outcomes), 2 for an unreadable
//! scenario or bad usage, 1 when AWS (or the local endpoint) failed. Every command exits 2 for
//! bad usage, naming the argument.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use scenario_runner::{mermaid, report};

/// The reward messaging pipeline on this machine: scenarios, chaos runs, benchmarks, and the
/// operator's redrive of dead letters.
#[derive(Debug, Parser)]
#[command(name = "rewards", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs a scenario file through every stage's real handler and prints what happened.
    Run(RunArgs),
    /// Runs the same seeded events clean and with faults, and compares: exit 1 if anything was
    /// lost or shown twice.
    Chaos(chaos::Options),
    /// Measures throughput, AWS calls and cost per event, cold start and memory, and models
    /// latency.
    Bench(bench::Options),
    /// Moves a stage's dead letters back to where they are processed
    /// (REWARDS_PREFIX=<env>-<brand> names the stack).
    Redrive(redrive::Options),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The scenario file (JSON).
    #[arg(value_name = "SCENARIO.json")]
    scenario: PathBuf,
    /// Prints one JSON object per outcome instead of an account for a person.
    #[arg(long, conflicts_with = "mermaid")]
    json: bool,
    /// Prints the scenario as a Mermaid sequence diagram: the stages as participants, each
    /// step's messages and outcomes.
    #[arg(long)]
    mermaid: bool,
    /// Runs over DynamoDB tables and SQS queues it creates (and deletes) where the AWS
    /// configuration points: `AWS_ENDPOINT_URL` (e.g. moto) or AWS.
    #[arg(long)]
    aws: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run(args) => run(args).await,
        Command::Chaos(options) => chaos::command(&options).await,
        Command::Bench(options) => bench::command(&options).await,
        Command::Redrive(options) => redrive::command(&options).await,
    }
}

/// `rewards run`: the scenario, in memory or over AWS, printed as asked.
async fn run(args: RunArgs) -> ExitCode {
    let result = if args.aws {
        aws_runner::run_scenario(&args.scenario).await
    } else {
        scenario_runner::run_scenario(&args.scenario)
            .await
            .map_err(Into::into)
    };
    match result {
        Ok(trace) if args.json => print!("{}", report::json_lines(&trace)),
        Ok(trace) if args.mermaid => print!("{}", mermaid::sequence_diagram(&trace)),
        Ok(trace) => print!("{}", report::readable(&trace)),
        Err(error) => {
            eprintln!("rewards: {error}");
            return ExitCode::from(error.exit_code());
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
