//! `rewards run SCENARIO --aws`: the same pipeline over real DynamoDB tables and SQS queues.
//!
//! The endpoint is the AWS SDK's default configuration chain: `AWS_ENDPOINT_URL` (a local AWS
//! API such as moto, as `scripts/with-moto.sh` sets it) when set, otherwise AWS itself, in the
//! region and account of the usual credentials (`AWS_REGION`, `AWS_PROFILE`, …). A run
//! **creates** two tables and eleven queues named `rewards-run-{12 hex digits}-…` and tagged
//! `rewards-run` there, and deletes them when the scenario is over (unless
//! `REWARDS_KEEP_AWS_RESOURCES` is set, for a look at the queues afterwards).
//!
//! - [`resources`]: the tables and queues, as in `template.yaml` but with a short visibility
//!   time-out.
//! - [`sqs_queues`]: [`SqsTransport`], polling the queues as Lambda's event source mapping does.
//! - [`backend`]: [`AwsRunBackend`], the DynamoDB and SQS adapters behind the ports, with the
//!   stand-ins for PPH, CSL and OSG.
//!
//! - [`wall_clock`]: the run on the wall clock, with each message OSG shows kept with its
//!   stage timestamps (off by default; [`wall_clock::WALL_CLOCK_VAR`] turns it on for
//!   `rewards run --aws`).
//!
//! Every stage's handler still runs in this process: MSK is fed in process as for the
//! in-memory run, and DES is called through its function URL shape.
#![deny(missing_docs)]

pub mod backend;
pub mod resources;
pub mod sqs_queues;
pub mod wall_clock;

use std::path::Path;
use std::time::Duration;

use aws_config::SdkConfig;
use rewards_shared::ports::ManualClock;

pub use backend::{AwsRunBackend, AwsStoresBackend, StageDeadLetters};
pub use resources::{QueueSettings, ResourceError, RunResources};
pub use sqs_queues::{Faults, SqsTransport, TransportError, TransportSettings};
pub use wall_clock::{LatencyLog, Observed, StampingTransport, TimedBackend, Timing, WallClock};

use scenario_runner::pipeline::{Pipeline, StandIns};
use scenario_runner::report::Trace;
use scenario_runner::scenario::{Scenario, ScenarioError, Step};

/// The queues' visibility time-out against AWS itself.
pub const AWS_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(10);

/// Set this (to anything) to keep a run's tables and queues instead of deleting them.
pub const KEEP_RESOURCES_VAR: &str = "REWARDS_KEEP_AWS_RESOURCES";

/// Why a run against AWS did not complete.
#[derive(Debug, thiserror::Error)]
pub enum AwsRunError {
    /// The scenario cannot be run.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// No region is configured.
    #[error("no AWS region configured: set AWS_REGION (or a profile with a region)")]
    NoRegion,
    /// A table or queue could not be created or deleted.
    #[error("{prefix}: {source}")]
    Resources {
        /// The run's prefix.
        prefix: String,
        /// The failed call.
        source: ResourceError,
    },
    /// SQS calls of the transport failed while the scenario ran.
    #[error("{prefix}: step {step}: {source}")]
    Transport {
        /// The run's prefix.
        prefix: String,
        /// The step being drained, from 1.
        step: usize,
        /// The first failed call.
        source: TransportError,
    },
}

impl AwsRunError {
    /// The command's exit status for this error: 2 for an unreadable scenario (as without
    /// `--aws`), 1 when AWS (or the local endpoint) failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            AwsRunError::Scenario(_) => 2,
            _ => 1,
        }
    }
}

/// How a run against AWS is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// The prefix of every table and queue name.
    pub prefix: String,
    /// The queues' settings.
    pub queues: QueueSettings,
    /// How the transport polls.
    pub transport: TransportSettings,
    /// How long TIM keeps a key's state past the reward's expiry (`TIM_TTL_GRACE_DAYS`).
    pub tim_ttl_grace: chrono::Duration,
    /// Run the stages on the wall clock and keep when OSG showed each message
    /// ([`wall_clock`]); off, the scenario's clock stands still between `setClock` steps.
    pub wall_clock: bool,
}

impl AwsSettings {
    /// Settings for `config`: a fresh prefix and 5 receives before the dead-letter queue;
    /// when `AWS_ENDPOINT_URL` points somewhere (a local endpoint), a 2-second visibility
    /// time-out and polling tuned for exact counts; for AWS, a visibility time-out of
    /// [`AWS_VISIBILITY_TIMEOUT`] (above the SDK's operation time-out, so a slow call cannot
    /// make a message reappear while it is handled) and polling tuned for approximate counts.
    pub fn for_config(config: &SdkConfig) -> Self {
        let mut queues = QueueSettings::default();
        let transport = if config.endpoint_url().is_some() {
            TransportSettings::local(queues.visibility_timeout, queues.max_receive_count)
        } else {
            queues.visibility_timeout = AWS_VISIBILITY_TIMEOUT;
            TransportSettings::aws(queues.visibility_timeout, queues.max_receive_count)
        };
        AwsSettings {
            prefix: resources::unique_prefix(),
            queues,
            transport,
            tim_ttl_grace: chrono::Duration::days(7),
            wall_clock: false,
        }
    }

    /// The same settings with another visibility time-out (whole seconds) on the queues and
    /// in the transport.
    pub fn with_visibility_timeout(mut self, timeout: Duration) -> Self {
        self.queues.visibility_timeout = timeout;
        self.transport.visibility_timeout = timeout;
        self
    }
}

/// A scenario's pipeline over its own tables and queues.
pub struct AwsRun {
    pipeline: Pipeline<TimedBackend, StampingTransport<SqsTransport>>,
    timing: Option<Timing>,
    resources: RunResources,
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    faults: Faults,
}

impl AwsRun {
    /// Creates the tables and queues of `settings.prefix` where `config` points and wires the
    /// scenario's pipeline over them. Deletes them again if the pipeline cannot be built.
    pub async fn start(
        scenario: &Scenario,
        config: &SdkConfig,
        settings: AwsSettings,
    ) -> Result<AwsRun, AwsRunError> {
        let region = config
            .region()
            .map(ToString::to_string)
            .ok_or(AwsRunError::NoRegion)?;
        let dynamodb = rewards_shared::aws::dynamodb_client(config);
        let sqs = rewards_shared::aws::sqs_client(config);
        let resources = RunResources::create(&dynamodb, &sqs, &settings.prefix, &settings.queues)
            .await
            .map_err(|source| AwsRunError::Resources {
                prefix: settings.prefix.clone(),
                source,
            })?;
        let stand_ins = StandIns::new(scenario);
        let clock = ManualClock::new(scenario.now);
        let timing = settings.wall_clock.then(|| Timing {
            clock: WallClock::new(clock.clone()),
            log: LatencyLog::new(),
        });
        let adapters = backend::ports(
            &dynamodb,
            &sqs,
            &resources,
            &stand_ins,
            settings.tim_ttl_grace,
        );
        let ports = wall_clock::timed_ports(adapters, timing.clone());
        let faults = Faults::new();
        let transport = SqsTransport::new(
            sqs.clone(),
            region,
            resources.clone(),
            settings.transport.clone(),
            faults.clone(),
        );
        let transport = StampingTransport::new(transport, timing.clone());
        let pipeline = match Pipeline::new(scenario, ports, stand_ins.onsite, clock, transport) {
            Ok(pipeline) => pipeline,
            Err(error) => {
                for failure in resources.delete(&dynamodb, &sqs).await {
                    tracing::warn!(error = %failure, "clean-up after a bad scenario");
                }
                return Err(error.into());
            }
        };
        Ok(AwsRun {
            pipeline,
            timing,
            resources,
            dynamodb,
            sqs,
            faults,
        })
    }

    /// The run's tables and queues.
    pub fn resources(&self) -> &RunResources {
        &self.resources
    }

    /// The SQS client of the run.
    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        &self.sqs
    }

    /// The DynamoDB client of the run.
    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        &self.dynamodb
    }

    /// The pipeline, to feed records or switch customers on and off directly.
    pub fn pipeline(&mut self) -> &mut Pipeline<TimedBackend, StampingTransport<SqsTransport>> {
        &mut self.pipeline
    }

    /// What the run saw on the wall clock so far (`None` unless [`AwsSettings::wall_clock`]).
    pub fn observed(&self) -> Option<Observed> {
        self.timing.as_ref().map(|timing| timing.log.observed())
    }

    /// Moves the stages' clock to the wall time now (with [`AwsSettings::wall_clock`]): call
    /// before feeding records straight to [`AwsRun::pipeline`], so that DEC stamps the time
    /// they were fed.
    pub fn tick(&self) {
        if let Some(timing) = &self.timing {
            timing.clock.tick();
        }
    }

    /// Feeds one step (numbered from 1) and drains the queues; fails when SQS calls failed
    /// meanwhile.
    pub async fn feed(&mut self, number: usize, step: &Step) -> Result<(), AwsRunError> {
        self.tick();
        self.pipeline.feed(number, step).await;
        self.check(number)
    }

    /// Fails with the first SQS call that failed since the last check.
    pub fn check(&mut self, step: usize) -> Result<(), AwsRunError> {
        match self.faults.take().into_iter().next() {
            None => Ok(()),
            Some(source) => Err(AwsRunError::Transport {
                prefix: self.resources.prefix.clone(),
                step,
                source,
            }),
        }
    }

    /// Feeds every step of `scenario`, stopping at the first step whose SQS calls failed.
    pub async fn run_steps(&mut self, scenario: &Scenario) -> Result<(), AwsRunError> {
        for (index, step) in scenario.steps.iter().enumerate() {
            self.feed(index + 1, step).await?;
        }
        Ok(())
    }

    /// What happened so far (and forget it).
    pub fn take_trace(&mut self) -> Vec<Trace> {
        self.pipeline.take_trace()
    }

    /// Deletes the run's tables and queues.
    pub async fn delete(self) -> Result<(), AwsRunError> {
        let failures = self.resources.delete(&self.dynamodb, &self.sqs).await;
        match failures.into_iter().next() {
            None => Ok(()),
            Some(source) => Err(AwsRunError::Resources {
                prefix: self.resources.prefix,
                source,
            }),
        }
    }
}

/// Runs the scenario in `path` against the endpoint of the default AWS configuration
/// (`AWS_ENDPOINT_URL`, or AWS) and returns what happened, in order. Says on standard error
/// where it creates its tables and queues; deletes them at the end unless
/// [`KEEP_RESOURCES_VAR`] is set.
pub async fn run_scenario(path: &Path) -> Result<Vec<Trace>, AwsRunError> {
    let scenario = Scenario::read(path)?;
    let config = rewards_shared::aws::load_sdk_config_default_chain().await;
    let mut settings = AwsSettings::for_config(&config);
    settings.wall_clock = std::env::var_os(wall_clock::WALL_CLOCK_VAR).is_some();
    let keep = std::env::var_os(KEEP_RESOURCES_VAR).is_some();
    eprintln!(
        "rewards: creating tables and queues {}-* in {} at {}{}",
        settings.prefix,
        config
            .region()
            .map_or_else(|| "(no region)".to_owned(), ToString::to_string),
        config.endpoint_url().unwrap_or("AWS"),
        if keep {
            " (kept afterwards)"
        } else {
            " (deleted afterwards)"
        }
    );
    let mut run = AwsRun::start(&scenario, &config, settings).await?;
    let result = run.run_steps(&scenario).await;
    let trace = run.take_trace();
    if let Some(observed) = run.observed() {
        eprint!("rewards: {}", wall_clock::summary(&observed));
    }
    let cleaned = if keep {
        eprintln!(
            "rewards: kept tables and queues {}-*",
            run.resources().prefix
        );
        Ok(())
    } else {
        run.delete().await
    };
    result?;
    cleaned?;
    Ok(trace)
}
