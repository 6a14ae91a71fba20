//! The command line of `rewards redrive`, and what it prints.

use std::sync::Arc;

use rewards_shared::stage::Stage;

use crate::{LambdaDecReplay, Moved, Redrive, Target};

/// The command line of `rewards redrive`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct Options {
    /// The stage whose dead-letter queue is redriven.
    pub stage: DeadLetterStage,
    /// Prints what would move where, and leaves every message in the dead-letter queue.
    #[arg(long)]
    pub dry_run: bool,
    /// Stops after N messages.
    #[arg(long, value_name = "N",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max: Option<usize>,
}

/// A stage with a dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeadLetterStage {
    /// DEC: its dead letters are replayed into DEC as MSK events.
    Dec,
    /// TIM.
    Tim,
    /// FRED.
    Fred,
    /// BCG.
    Bcg,
    /// MSQ.
    Msq,
}

impl From<DeadLetterStage> for Stage {
    fn from(stage: DeadLetterStage) -> Stage {
        match stage {
            DeadLetterStage::Dec => Stage::Dec,
            DeadLetterStage::Tim => Stage::Tim,
            DeadLetterStage::Fred => Stage::Fred,
            DeadLetterStage::Bcg => Stage::Bcg,
            DeadLetterStage::Msq => Stage::Msq,
        }
    }
}

/// Runs `rewards redrive`; prints one line per message and a summary. Exit status 0 when
/// every message moved (or `--dry-run`), 1 otherwise, 2 without `REWARDS_PREFIX`.
pub async fn command(options: &Options) -> std::process::ExitCode {
    use std::process::ExitCode;
    let (stage, dry_run, max) = (Stage::from(options.stage), options.dry_run, options.max);
    let Some(prefix) = std::env::var("REWARDS_PREFIX")
        .ok()
        .filter(|p| !p.is_empty())
    else {
        eprintln!(
            "rewards redrive: set REWARDS_PREFIX to the stack's <env>-<brand> (e.g. prod-skybet)"
        );
        return ExitCode::from(2);
    };
    let config = rewards_shared::aws::load_sdk_config_default_chain().await;
    let sqs = rewards_shared::aws::sqs_client(&config);
    let target = if stage == Stage::Dec {
        let settings = rewards_shared::http::HttpSettings {
            request_timeout: std::time::Duration::from_secs(60),
            ..Default::default()
        };
        let http = match settings.build() {
            Ok(http) => http,
            Err(e) => {
                eprintln!("rewards redrive: {e}");
                return ExitCode::from(1);
            }
        };
        match LambdaDecReplay::new(http, &config, &format!("{prefix}-dec")) {
            Ok(replay) => Target::Dec(Arc::new(replay)),
            Err(e) => {
                eprintln!("rewards redrive: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        Target::Queues(stage)
    };
    let mut redrive = Redrive {
        sqs,
        prefix: prefix.clone(),
        dlq_url: String::new(),
        target,
        dry_run,
        max,
    };
    match redrive
        .resolve(&format!("{prefix}-{}-dlq", stage.as_str()))
        .await
    {
        Ok(url) => redrive.dlq_url = url,
        Err(e) => {
            eprintln!("rewards redrive: {e}");
            return ExitCode::from(1);
        }
    }
    match redrive.run().await {
        Ok(report) => {
            print!("{}", render(&report));
            if report.iter().all(|m| m.moved() || dry_run) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("rewards redrive: {e}");
            ExitCode::from(1)
        }
    }
}

/// One line per message (`<message id> -> <where>: <result>`) and a summary line.
pub fn render(report: &[Moved]) -> String {
    let mut out = String::new();
    for m in report {
        out.push_str(&format!("{} -> {}: {}\n", m.message_id, m.to, m.result));
    }
    let moved = report.iter().filter(|m| m.moved()).count();
    out.push_str(&format!(
        "{moved} moved, {} left in the dead-letter queue\n",
        report.len() - moved
    ));
    out
}
