//! Validation of parsed input against the contract's bounds.

use crate::limits::{MAX_ID_CHARS, MAX_REWARD_PROGRESS, MAX_TEXT_CHARS};

/// Why a record is not acceptable input. Its `Display` is the text after `invalid-input: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidInput {
    /// The bytes are not UTF-8.
    #[error("not UTF-8 at byte {valid_up_to}")]
    NotUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// The record is larger than the stage accepts.
    #[error("record of {bytes} bytes is over the limit of {limit}")]
    Oversized {
        /// Size of the record.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The record has no value at all.
    #[error("empty record")]
    Empty,
    /// The text is not JSON of the expected shape (missing field, wrong type, unknown status…).
    #[error("{0}")]
    Json(String),
    /// A field is empty that must not be.
    #[error("field `{field}` is empty")]
    EmptyField {
        /// The field's name.
        field: &'static str,
    },
    /// A field is longer than allowed.
    #[error("field `{field}` has {chars} characters, over the limit of {limit}")]
    TooLong {
        /// The field's name.
        field: &'static str,
        /// Its length.
        chars: usize,
        /// The limit.
        limit: usize,
    },
    /// Too many reward progress entries.
    #[error("{count} reward progress entries, over the limit of {limit}")]
    TooManyProgressEntries {
        /// How many there are.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A CloudEvent that is not what the stage expects.
    #[error("envelope: {0}")]
    Envelope(String),
    /// The record's content does not fit the promotion it names.
    #[error("{0}")]
    Mismatch(String),
}

impl InvalidInput {
    /// Classifies a serde_json error: the message names the field or the unknown variant.
    pub fn json(error: &serde_json::Error) -> Self {
        InvalidInput::Json(format!("malformed JSON: {error}"))
    }
}

/// Checks a parsed value against the contract's bounds.
pub trait Validate {
    /// `Ok` when every field is within its bounds.
    fn validate(&self) -> Result<(), InvalidInput>;
}

/// Checks an identifier: not empty, not longer than [`MAX_ID_CHARS`].
pub(crate) fn id(field: &'static str, value: &str) -> Result<(), InvalidInput> {
    if value.trim().is_empty() {
        return Err(InvalidInput::EmptyField { field });
    }
    bounded(field, value, MAX_ID_CHARS)
}

/// Checks an identifier that may be empty: not longer than [`MAX_ID_CHARS`].
pub(crate) fn bounded_id(field: &'static str, value: &str) -> Result<(), InvalidInput> {
    bounded(field, value, MAX_ID_CHARS)
}

/// Checks a free-text field: not longer than [`MAX_TEXT_CHARS`].
pub(crate) fn text(field: &'static str, value: &str) -> Result<(), InvalidInput> {
    bounded(field, value, MAX_TEXT_CHARS)
}

/// What the checks read of a reward progress entry, raw or enriched.
pub(crate) trait ProgressTexts {
    /// Its `(rewardSchemeId, activityType, status)`.
    fn texts(&self) -> (&str, &str, &str);
}

/// Checks what every activity carries: its identifiers, its locale, and its reward
/// progress entries.
pub(crate) fn activity(
    ids: &[(&'static str, &str)],
    locale: Option<&str>,
    progress: &[impl ProgressTexts],
) -> Result<(), InvalidInput> {
    for &(field, value) in ids {
        id(field, value)?;
    }
    if let Some(locale) = locale {
        text("locale", locale)?;
    }
    progress_count(progress.len())?;
    for (scheme, activity_type, status) in progress.iter().map(ProgressTexts::texts) {
        id("rewardProgress.rewardSchemeId", scheme)?;
        text("rewardProgress.activityType", activity_type)?;
        text("rewardProgress.status", status)?;
    }
    Ok(())
}

/// Checks the number of reward progress entries.
pub(crate) fn progress_count(count: usize) -> Result<(), InvalidInput> {
    if count > MAX_REWARD_PROGRESS {
        return Err(InvalidInput::TooManyProgressEntries {
            count,
            limit: MAX_REWARD_PROGRESS,
        });
    }
    Ok(())
}

fn bounded(field: &'static str, value: &str, limit: usize) -> Result<(), InvalidInput> {
    // Byte length bounds the char count from above: only count when it could matter.
    if value.len() > limit {
        let chars = value.chars().count();
        if chars > limit {
            return Err(InvalidInput::TooLong {
                field,
                chars,
                limit,
            });
        }
    }
    Ok(())
}
