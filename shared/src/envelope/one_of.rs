//! An envelope of one of two payloads, and what every incoming envelope tells about itself.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use super::*;

/// An envelope of one of two payloads, told apart by the event type: for a queue that carries
/// two kinds of event (the award's path carries its delete instruction too).
#[derive(Debug, Clone, PartialEq)]
pub enum OneOf<A, B> {
    /// An event of the first kind.
    First(Envelope<A>),
    /// An event of the second kind.
    Second(Envelope<B>),
}

impl<A: DeserializeOwned, B: DeserializeOwned> OneOf<A, B> {
    /// Reads an SQS body as an envelope of `A` (one of the `first` types) or of `B` (one of the
    /// `second` types). The first kind is the common one and costs one read; the second is
    /// read when the first does not fit. An error names what is wrong with the body as the
    /// kind its type says it is.
    pub fn decode(
        body: &str,
        first: &[EventType],
        second: &[EventType],
    ) -> Result<Self, EnvelopeError> {
        let first_error = match Envelope::<A>::decode(body, first) {
            Ok(envelope) => return Ok(OneOf::First(envelope)),
            Err(error) => error,
        };
        match Envelope::<B>::decode(body, second) {
            Ok(envelope) => Ok(OneOf::Second(envelope)),
            Err(EnvelopeError::Unexpected {
                attribute: "type", ..
            }) => Err(first_error),
            Err(second_error) => Err(second_error),
        }
    }
}

/// What every incoming envelope tells about itself, for its record's span and latencies.
pub trait Traced {
    /// The event's id.
    fn id(&self) -> &str;
    /// The chain's correlation id.
    fn correlation_id(&self) -> &str;
    /// The latencies at a stage handling it at `now`.
    fn latency_at(&self, now: DateTime<Utc>) -> Latency;
}

impl<T> Traced for Envelope<T> {
    fn id(&self) -> &str {
        &self.id
    }

    fn correlation_id(&self) -> &str {
        &self.correlation_id
    }

    fn latency_at(&self, now: DateTime<Utc>) -> Latency {
        Envelope::latency_at(self, now)
    }
}

impl<A, B> Traced for OneOf<A, B> {
    fn id(&self) -> &str {
        match self {
            OneOf::First(envelope) => &envelope.id,
            OneOf::Second(envelope) => &envelope.id,
        }
    }

    fn correlation_id(&self) -> &str {
        match self {
            OneOf::First(envelope) => &envelope.correlation_id,
            OneOf::Second(envelope) => &envelope.correlation_id,
        }
    }

    fn latency_at(&self, now: DateTime<Utc>) -> Latency {
        match self {
            OneOf::First(envelope) => envelope.latency_at(now),
            OneOf::Second(envelope) => envelope.latency_at(now),
        }
    }
}
