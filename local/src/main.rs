//! `rewards`: the project's command-line tool.
//!
//! ```text
//! rewards run SCENARIO.json [--json]
//! ```
//!
//! Exit status: 0 when the scenario ran (whatever its outcomes), 2 for an unreadable scenario
//! or bad usage.

use std::path::PathBuf;
use std::process::ExitCode;

use rewards_local::{report, run_scenario};

const USAGE: &str = "usage: rewards run SCENARIO.json [--json]";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("bench") {
        return rewards_local::bench::command(&args[1..]).await;
    }
    let (Some("run"), Some(path)) = (args.first().map(String::as_str), args.get(1)) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let json = match args.get(2).map(String::as_str) {
        None => false,
        Some("--json") if args.len() == 3 => true,
        Some(_) => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run_scenario(&PathBuf::from(path)).await {
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
            ExitCode::from(2)
        }
    }
}
