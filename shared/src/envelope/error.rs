//! Why a CloudEvent could not be read as the envelope a stage expects.

use super::*;

/// Why a CloudEvent could not be read as the envelope a stage expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The body is not a structured-mode CloudEvent.
    #[error("not a CloudEvent: {0}")]
    NotACloudEvent(String),
    /// A required attribute or extension is missing.
    #[error("CloudEvent `{id}` lacks `{attribute}`")]
    Missing {
        /// The event's id.
        id: String,
        /// The attribute.
        attribute: &'static str,
    },
    /// An attribute has a value the pipeline does not know.
    #[error("CloudEvent `{id}` has `{attribute}` = `{value}`")]
    Unexpected {
        /// The event's id.
        id: String,
        /// The attribute.
        attribute: &'static str,
        /// Its value.
        value: String,
    },
    /// The data is not of the expected shape.
    #[error("CloudEvent `{id}` data: {reason}")]
    Data {
        /// The event's id.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// An identifying attribute is longer than [`MAX_ID_CHARS`].
    #[error(
        "CloudEvent `{id}` has `{attribute}` of {chars} characters, over the limit of {limit}"
    )]
    TooLong {
        /// The event's id (cut to 64 characters when it is the long one).
        id: String,
        /// The attribute.
        attribute: &'static str,
        /// Its length.
        chars: usize,
        /// The limit.
        limit: usize,
    },
    /// The event could not be built (an invalid attribute value).
    #[error("cannot build CloudEvent `{id}`: {reason}")]
    Build {
        /// The event's id.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

impl From<EnvelopeError> for InvalidInput {
    fn from(error: EnvelopeError) -> Self {
        InvalidInput::Envelope(error.to_string())
    }
}
