//! The OSG-or-MSQ rule: a message is never lost. OSG's 200 means delivered; a 404 (the
//! customer is not onsite) queues it to MSQ; so does an OSG that keeps failing (5xx or time-out
//! after the client's retries with backoff). A `REWARD_AWARDED` message on the cycle start day
//! is queued without asking OSG ([`super::cycle_start`]).

use rewards_shared::ports::{Delivery, OnsiteError};

/// Why a message goes to MSQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueReason {
    /// A `REWARD_AWARDED` message on the cycle start day.
    CycleStart,
    /// OSG answered 404: the customer is not onsite.
    NotOnsite,
    /// OSG failed even after retries.
    OsgFailed,
}

impl QueueReason {
    /// The reason as logged.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueReason::CycleStart => "cycle-start",
            QueueReason::NotOnsite => "not-onsite",
            QueueReason::OsgFailed => "osg-failed",
        }
    }
}

/// After OSG answered: `None` when the message was delivered, else why it goes to MSQ.
pub fn after_osg(answer: &Result<Delivery, OnsiteError>) -> Option<QueueReason> {
    match answer {
        Ok(Delivery::Delivered) => None,
        Ok(Delivery::NotOnsite) => Some(QueueReason::NotOnsite),
        Err(_) => Some(QueueReason::OsgFailed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_stays_delivered_and_everything_else_goes_to_msq() {
        assert_eq!(after_osg(&Ok(Delivery::Delivered)), None);
        assert_eq!(
            after_osg(&Ok(Delivery::NotOnsite)),
            Some(QueueReason::NotOnsite)
        );
        let failed = Err(OnsiteError::Unavailable {
            message_id: "m".into(),
            reason: "503".into(),
        });
        assert_eq!(after_osg(&failed), Some(QueueReason::OsgFailed));
    }

    #[test]
    fn reasons_are_logged_in_kebab_case() {
        assert_eq!(QueueReason::CycleStart.as_str(), "cycle-start");
        assert_eq!(QueueReason::NotOnsite.as_str(), "not-onsite");
        assert_eq!(QueueReason::OsgFailed.as_str(), "osg-failed");
    }
}
