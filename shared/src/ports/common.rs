//! The ports every publishing stage (DEC, TIM, FRED, BCG) is wired with besides its own.

use aws_lambda_events::event::sqs::SqsBatchResponse;

use super::{DeadLetterSink, Publisher};
use crate::effects::{self, RecordEffects};
use crate::lambda_event::SqsMessage;
use crate::sqs::{self, RecordFailure};
use crate::stage::Stage;
use crate::telemetry::{Recorder, Telemetry};

/// Where a publishing stage publishes, where its bad records go, its clock, and its
/// telemetry: the same four for DEC, TIM, FRED and BCG, whose other ports differ.
pub struct CommonPorts<P, D, C> {
    /// Where the stage publishes (a [`Publisher`](super::Publisher)).
    pub publisher: P,
    /// Where records that can never be handled go (a [`DeadLetterSink`](super::DeadLetterSink)).
    pub dead_letters: D,
    /// The time (a [`Clock`](super::Clock)).
    pub clock: C,
    /// Logs and metrics.
    pub telemetry: Telemetry,
}

impl<P, D, C> CommonPorts<P, D, C> {
    /// A stage's publisher, dead-letter sink, clock and telemetry.
    pub fn new(publisher: P, dead_letters: D, clock: C, telemetry: Telemetry) -> Self {
        CommonPorts {
            publisher,
            dead_letters,
            clock,
            telemetry,
        }
    }
}

impl<P: Publisher, D: DeadLetterSink, C> CommonPorts<P, D, C> {
    /// Publishes what the records of an SQS batch produced, in order
    /// ([`effects::publish`]): each record's result once its messages are out.
    pub async fn publish(
        &self,
        results: Vec<Result<RecordEffects, RecordFailure>>,
        recorder: &Recorder<'_>,
    ) -> Vec<Result<(), RecordFailure>> {
        effects::publish(&self.publisher, results, recorder).await
    }

    /// Sends the batch's bad records to the dead-letter sink and answers Lambda with the
    /// records to retry ([`sqs::settle`]).
    pub async fn settle(
        &self,
        stage: Stage,
        messages: &[SqsMessage],
        results: Vec<Result<(), RecordFailure>>,
        recorder: &Recorder<'_>,
    ) -> SqsBatchResponse {
        sqs::settle(stage, messages, results, &self.dead_letters, recorder).await
    }
}

#[cfg(feature = "sqs")]
impl CommonPorts<super::SqsPublisher, super::SqsDeadLetters, super::SystemClock> {
    /// A Lambda function's: publishing to the output queues of `queues` and sending dead
    /// letters to its dead-letter queue, both through one SQS client of `sdk`, on the system
    /// clock.
    pub fn for_lambda(
        sdk: &aws_types::SdkConfig,
        queues: crate::config::StageQueues,
        telemetry: Telemetry,
    ) -> Self {
        let sqs = crate::aws::sqs_client(sdk);
        CommonPorts::new(
            super::SqsPublisher::new(sqs.clone(), queues.outputs),
            super::SqsDeadLetters::new(sqs, queues.dead_letter_queue_url),
            super::SystemClock,
            telemetry,
        )
    }
}
