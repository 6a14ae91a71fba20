//! The decision service port (DES): FRED asks it whether an event is worth a message.

use std::future::Future;

use crate::decision::{self, DeliveryPreferences};
use crate::envelope::Envelope;
use crate::error::Retryable;
use crate::model::{Decision, RewardMessage};

/// Why no decision could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    /// DES refused the event as malformed (400): no retry can fix it.
    #[error("DES rejected event `{event_id}`: {reason}")]
    Rejected {
        /// The CloudEvent's id.
        event_id: String,
        /// What DES said.
        reason: String,
    },
    /// DES failed, timed out, or answered with something that is not a decision, even after
    /// retries: the record comes again.
    #[error("DES unavailable for event `{event_id}`: {reason}")]
    Unavailable {
        /// The CloudEvent's id.
        event_id: String,
        /// The last failure.
        reason: String,
    },
}

impl Retryable for DecisionError {
    fn is_retryable(&self) -> bool {
        matches!(self, DecisionError::Unavailable { .. })
    }
}

/// An event to decide: the envelope read, and the CloudEvent text it was read from, which a
/// remote service is sent as it is (no second encoding).
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    /// The event, read.
    pub envelope: &'a Envelope<RewardMessage>,
    /// Its structured-mode JSON, as received.
    pub body: &'a str,
}

impl Asked<'_> {
    /// This event's result from its answer in a batch request: decided, no decision, or
    /// rejected alone (`invalid`).
    pub fn result_of(
        &self,
        answer: decision::batch::Answer,
    ) -> Result<Option<Decision>, DecisionError> {
        match answer {
            decision::batch::Answer::Decided(decision) => Ok(Some(decision)),
            decision::batch::Answer::NoDecision => Ok(None),
            decision::batch::Answer::Invalid(reason) => Err(DecisionError::Rejected {
                event_id: self.envelope.id.clone(),
                reason,
            }),
        }
    }
}

/// The results of `events` asked in DES's way, one per event in their order: a lone event in
/// the single form (`decide_one`), more in batch requests of at most
/// [`decision::batch::MAX_EVENTS`] events each (`decide_chunk`, which gives one result per event
/// of the chunk it is handed, in order).
pub async fn decide_alone_or_in_chunks<'e, 'a, One, OneFuture, Chunk, ChunkFuture>(
    events: &'e [Asked<'a>],
    decide_one: One,
    mut decide_chunk: Chunk,
) -> Vec<Result<Option<Decision>, DecisionError>>
where
    One: FnOnce(&'e Asked<'a>) -> OneFuture,
    OneFuture: Future<Output = Result<Option<Decision>, DecisionError>>,
    Chunk: FnMut(&'e [Asked<'a>]) -> ChunkFuture,
    ChunkFuture: Future<Output = Vec<Result<Option<Decision>, DecisionError>>>,
{
    if let [event] = events {
        return vec![decide_one(event).await];
    }
    let mut results = Vec::with_capacity(events.len());
    for chunk in events.chunks(decision::batch::MAX_EVENTS) {
        results.extend(decide_chunk(chunk).await);
    }
    results
}

/// Decides whether a reward event is worth a message.
pub trait DecisionService: Send + Sync {
    /// The decision, or `None` when the event has none (`has-decision: false`).
    fn decide(
        &self,
        envelope: &Envelope<RewardMessage>,
    ) -> impl Future<Output = Result<Option<Decision>, DecisionError>> + Send;

    /// The decisions of several events, one result per event in their order (DES's batch
    /// form). By default each event is asked on its own.
    fn decide_batch(
        &self,
        events: &[Asked<'_>],
    ) -> impl Future<Output = Vec<Result<Option<Decision>, DecisionError>>> + Send {
        async move {
            let mut answers = Vec::with_capacity(events.len());
            for event in events {
                answers.push(self.decide(event.envelope).await);
            }
            answers
        }
    }
}

/// A decision service reached in DES's two request forms: the single form for one event, the
/// batch form for several. Such a service is a [`DecisionService`]: an event alone is encoded
/// and sent in the single form, a batch goes as [`decide_alone_or_in_chunks`] says.
pub trait DesRequests: Send + Sync {
    /// One event in the single form, its body sent as received.
    fn decide_one(
        &self,
        event: &Asked<'_>,
    ) -> impl Future<Output = Result<Option<Decision>, DecisionError>> + Send;

    /// One batch request for `chunk` (at most [`decision::batch::MAX_EVENTS`] events): each
    /// event's result, in order.
    fn decide_chunk(
        &self,
        chunk: &[Asked<'_>],
    ) -> impl Future<Output = Vec<Result<Option<Decision>, DecisionError>>> + Send;
}

impl<T: DesRequests> DecisionService for T {
    /// The event encoded as its CloudEvent and sent alone; an event that does not encode is
    /// rejected (no retry can fix it).
    async fn decide(
        &self,
        envelope: &Envelope<RewardMessage>,
    ) -> Result<Option<Decision>, DecisionError> {
        let body = envelope.encode().map_err(|e| DecisionError::Rejected {
            event_id: envelope.id.clone(),
            reason: e.to_string(),
        })?;
        self.decide_one(&Asked {
            envelope,
            body: &body,
        })
        .await
    }

    async fn decide_batch(
        &self,
        events: &[Asked<'_>],
    ) -> Vec<Result<Option<Decision>, DecisionError>> {
        decide_alone_or_in_chunks(
            events,
            |event| self.decide_one(event),
            |chunk| self.decide_chunk(chunk),
        )
        .await
    }
}

impl<S: DecisionService + ?Sized> DecisionService for std::sync::Arc<S> {
    fn decide(
        &self,
        envelope: &Envelope<RewardMessage>,
    ) -> impl Future<Output = Result<Option<Decision>, DecisionError>> + Send {
        (**self).decide(envelope)
    }

    fn decide_batch(
        &self,
        events: &[Asked<'_>],
    ) -> impl Future<Output = Vec<Result<Option<Decision>, DecisionError>>> + Send {
        (**self).decide_batch(events)
    }
}

/// Decides in process with DES's own logic (tests, the local runner).
#[derive(Debug, Clone, Default)]
pub struct LocalDecisions {
    preferences: DeliveryPreferences,
}

impl LocalDecisions {
    /// Decides with these delivery preferences.
    pub fn new(preferences: DeliveryPreferences) -> Self {
        LocalDecisions { preferences }
    }
}

impl DecisionService for LocalDecisions {
    async fn decide(
        &self,
        envelope: &Envelope<RewardMessage>,
    ) -> Result<Option<Decision>, DecisionError> {
        let decision = decision::decide(&envelope.data, &envelope.brand, &self.preferences);
        Ok(decision.has_decision.then_some(decision))
    }
}
