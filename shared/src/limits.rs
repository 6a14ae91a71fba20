//! Bounds on input sizes. Past them a record is `invalid-input`, never a panic or an
//! unbounded allocation.

/// Largest Kafka record value or SQS body a stage accepts, in bytes (SQS's own limit).
pub const MAX_RECORD_BYTES: usize = 256 * 1024;
/// Most reward progress entries one activity may carry.
pub const MAX_REWARD_PROGRESS: usize = 64;
/// Longest identifier (account, promo code, attempt, scheme, activity id), in characters.
pub const MAX_ID_CHARS: usize = 128;
/// Longest free-text field (activity type, locale, reason), in characters.
pub const MAX_TEXT_CHARS: usize = 256;
/// Longest MSQ keeps a queued message or a tombstone whose reward never expires (its scheme
/// has no `expirationDate`), in days: the default of MSQ's maximum TTL.
pub const DEFAULT_MAX_MESSAGE_TTL_DAYS: i64 = 30;
