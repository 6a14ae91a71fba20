//! DEC's batch handler for Lambda's MSK event.
//!
//! Per record: decode, parse, validate ([`crate::decode`]), enrich ([`crate::enrich`]). Each
//! distinct promotion of the batch is fetched once (and cached across invocations by the
//! promotion source). Bad records go alone to the dead-letter queue (`invalid-input: …`, or
//! `unknown-promotion`, `partner-auth-rejected`); the good ones are published in one batched
//! call. A record hit by a transient failure (PPH down, SQS unavailable) that outlives its
//! retries is reported in the Kafka partial batch response ([`KafkaBatchResponse`]): Lambda
//! retries just those records, within the mapping's bounded retries and record age, then sends
//! them (payload included) to the S3 on-failure destination. TIM's dedupe makes a repeat
//! harmless.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use rewards_shared::effects;
use rewards_shared::error::Retryable;
use rewards_shared::ids::derived_id;
use rewards_shared::kafka::{self, KafkaBatchResponse, Record};
use rewards_shared::lambda_event::KafkaEvent;
use rewards_shared::model::Promotion;
use rewards_shared::ports::dead_letter::send_recorded;
use rewards_shared::ports::{
    Clock, CommonPorts, DeadLetter, DeadLetterError, DeadLetterSink, OutgoingMessage,
    PromotionError, PromotionSource, Publisher,
};
use rewards_shared::stage::Stage;
use rewards_shared::telemetry::Recorder;
use tracing::Instrument;

use crate::decode::{decode, Activity, Topics};
use crate::enrich::enrich;

/// How many promotions are fetched at once.
const PROMOTION_FETCH_CONCURRENCY: usize = 8;

/// A failure that fails the invocation, so Lambda retries the batch (bisecting it).
#[derive(Debug, thiserror::Error)]
pub enum DecError {
    /// The dead-letter queue could not take the bad records.
    #[error(transparent)]
    DeadLetter(#[from] DeadLetterError),
}

/// DEC's handler, generic over its ports.
pub struct Handler<S, P, D, C> {
    topics: Topics,
    promotions: S,
    ports: CommonPorts<P, D, C>,
}

/// One record after decoding and enrichment.
enum Prepared {
    Publish(OutgoingMessage),
    DeadLetter(DeadLetter),
    /// PPH unavailable for this record's promotion.
    Unavailable,
}

impl<S, P, D, C> Handler<S, P, D, C>
where
    S: PromotionSource,
    P: Publisher,
    D: DeadLetterSink,
    C: Clock,
{
    /// A handler reading CPP from `cpp_topic` and EPPM from `eppm_topic`, publishing with the
    /// `ports`' publisher and bad records to their dead-letter sink.
    pub fn new(
        cpp_topic: impl Into<String>,
        eppm_topic: impl Into<String>,
        promotions: S,
        ports: CommonPorts<P, D, C>,
    ) -> Self {
        Handler {
            topics: Topics {
                cpp: cpp_topic.into(),
                eppm: eppm_topic.into(),
            },
            promotions,
            ports,
        }
    }

    /// Handles one MSK event: the records to retry, or an error when the bad records could not
    /// be dead-lettered (then the whole batch is retried).
    pub async fn handle(&self, event: &KafkaEvent) -> Result<KafkaBatchResponse, DecError> {
        let recorder = self.ports.telemetry.recorder();
        let result = self.handle_batch(event, &recorder).await;
        match &result {
            Err(error) => {
                tracing::error!(stage = "dec", error = %error, "batch failed; Lambda will retry it");
            }
            Ok(response) if !response.is_success() => {
                let count = response.batch_item_failures.len();
                recorder.count("BatchItemFailures", count as f64);
                tracing::warn!(
                    stage = "dec",
                    count,
                    "records reported failed; Lambda will retry them"
                );
            }
            Ok(_) => {}
        }
        recorder.flush();
        result
    }

    async fn handle_batch(
        &self,
        event: &KafkaEvent,
        recorder: &Recorder<'_>,
    ) -> Result<KafkaBatchResponse, DecError> {
        let records = kafka::records(event);
        recorder.count("RecordsIn", records.len() as f64);

        let decoded: Vec<_> = records
            .iter()
            .map(|record| (record, decode(record, &self.topics)))
            .collect();
        let promo_codes: BTreeSet<&str> = decoded
            .iter()
            .filter_map(|(_, activity)| activity.as_ref().ok().map(Activity::promo_code))
            .collect();
        let promotions = self.fetch_promotions(promo_codes).await;

        let now = self.ports.clock.now();
        let mut unavailable = Vec::new();
        let mut messages = Vec::new();
        let mut letters = Vec::new();
        for (record, activity) in decoded {
            // The ids are known once the activity is enriched into its CloudEvent.
            let span = tracing::info_span!(
                "record",
                stage = "dec",
                source = %record.source(),
                correlation_id = tracing::field::Empty,
                event_id = tracing::field::Empty,
            );
            let _entered = span.enter();
            match self.prepare(record, activity, &promotions, now, recorder) {
                Prepared::Publish(message) => messages.push((record, message)),
                Prepared::DeadLetter(letter) => letters.push(letter),
                Prepared::Unavailable => unavailable.push(*record),
            }
        }

        let unpublished = self.publish(messages, &mut letters, recorder).await;
        send_recorded(&self.ports.dead_letters, letters, recorder).await?;
        if let Some(error) = promotions
            .values()
            .filter_map(|result| result.as_ref().err())
            .find(|error| error.is_retryable())
        {
            tracing::warn!(stage = "dec", error = %error, "PPH unavailable; the records of its promotions will be retried");
        }
        Ok(KafkaBatchResponse::failed(
            unavailable.iter().chain(unpublished.iter()),
        ))
    }

    async fn fetch_promotions(
        &self,
        promo_codes: BTreeSet<&str>,
    ) -> HashMap<String, Result<Arc<Promotion>, PromotionError>> {
        stream::iter(promo_codes)
            .map(|code| async move { (code.to_owned(), self.promotions.promotion(code).await) })
            .buffer_unordered(PROMOTION_FETCH_CONCURRENCY)
            .collect()
            .instrument(tracing::debug_span!("fetch_promotions"))
            .await
    }

    fn prepare(
        &self,
        record: &Record<'_>,
        activity: Result<Activity, rewards_shared::model::InvalidInput>,
        promotions: &HashMap<String, Result<Arc<Promotion>, PromotionError>>,
        now: chrono::DateTime<chrono::Utc>,
        recorder: &Recorder<'_>,
    ) -> Prepared {
        let letter = |reason: String| {
            Prepared::DeadLetter(DeadLetter {
                stage: Stage::Dec,
                reason,
                source: record.source(),
                payload: record
                    .value()
                    .unwrap_or_else(|_| record.raw_value().to_owned()),
            })
        };
        let activity = match activity {
            Ok(activity) => activity,
            Err(invalid) => return letter(format!("invalid-input: {invalid}")),
        };
        let promotion = match promotions.get(activity.promo_code()) {
            Some(Ok(promotion)) => promotion,
            Some(Err(PromotionError::Unknown { .. })) => {
                return letter("unknown-promotion".to_owned())
            }
            Some(Err(error @ PromotionError::Malformed { .. })) => {
                return letter(format!("invalid-input: {error}"))
            }
            // PPH rejects DEC's key even after it was read again from its secret: retrying
            // cannot help until someone fixes the key, so the record waits in the DLQ for a
            // redrive (`rewards redrive dec`) instead of stalling its partition.
            Some(Err(error @ PromotionError::AuthRejected { .. })) => {
                tracing::error!(stage = "dec", error = %error, "PPH rejected the API key");
                return letter("partner-auth-rejected".to_owned());
            }
            Some(Err(PromotionError::Unavailable { .. })) | None => return Prepared::Unavailable,
        };
        match enrich(activity, promotion, record.header("correlationid"), now) {
            Ok(emission) => {
                recorder.latency(emission.latency);
                if !emission.unknown_schemes.is_empty() {
                    recorder.count("UnknownRewardScheme", emission.unknown_schemes.len() as f64);
                    tracing::warn!(
                        reward_scheme_ids = ?emission.unknown_schemes,
                        "progress entries name schemes the promotion lacks; kept, not enriched"
                    );
                }
                let span = tracing::Span::current();
                span.record("correlation_id", emission.message.correlation_id.as_str());
                span.record("event_id", emission.message.id.as_str());
                tracing::debug!("activity enriched");
                // A FIFO queue drops a copy of this record's message sent again within five
                // minutes (an MSK batch retried); a different record with the same activity
                // still reaches TIM, whose dedupe reports it.
                let deduplication_id =
                    derived_id(&["kafka-record", &record.source(), &emission.message.id]);
                Prepared::Publish(emission.message.deduplicated_by(deduplication_id))
            }
            Err(invalid) => letter(format!("invalid-input: {invalid}")),
        }
    }

    /// Publishes the enriched events in one call. A message SQS can never take (too large)
    /// becomes a dead letter; the records whose messages failed transiently are returned, to be
    /// retried.
    async fn publish<'r>(
        &self,
        messages: Vec<(&Record<'r>, OutgoingMessage)>,
        letters: &mut Vec<DeadLetter>,
        recorder: &Recorder<'_>,
    ) -> Vec<Record<'r>> {
        if messages.is_empty() {
            return Vec::new();
        }
        // The records by their message's id, for what failed: a record's source and payload
        // (its value decoded) are only worked out for a dead letter.
        let records: HashMap<String, Record<'r>> = messages
            .iter()
            .map(|(record, message)| (message.id.clone(), **record))
            .collect();
        let count = messages.len();
        let outgoing = messages.into_iter().map(|(_, message)| message).collect();
        // A FIFO group's messages go in order, and none after one that failed.
        let failed = effects::publish_in_group_order(&self.ports.publisher, outgoing).await;
        if failed.is_empty() {
            recorder.count("Emitted", count as f64);
            return Vec::new();
        }
        recorder.count("Emitted", (count - failed.len()) as f64);
        let (retryable, permanent): (Vec<_>, Vec<_>) =
            failed.into_iter().partition(|f| f.retryable);
        for failure in permanent {
            let (source, payload) = records
                .get(&failure.id)
                .map(|record| (record.source(), record.value().unwrap_or_default()))
                .unwrap_or_default();
            letters.push(DeadLetter {
                stage: Stage::Dec,
                reason: format!("invalid-input: {}", failure.reason),
                source,
                payload,
            });
        }
        if let Some(first) = retryable.first() {
            tracing::warn!(stage = "dec", reason = %first.reason, count = retryable.len(), "publishing failed; the records will be retried");
        }
        retryable
            .iter()
            .filter_map(|failure| records.get(&failure.id).copied())
            .collect()
    }
}

#[cfg(test)]
mod tests;
