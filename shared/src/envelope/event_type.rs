//! The CloudEvent types between stages and the stages that emit them.

/// The CloudEvent types between stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// DEC → TIM: `rewards.activity.enriched`.
    ActivityEnriched,
    /// DEC/TIM → FRED: `rewards.unqualification`.
    Unqualification,
    /// TIM → FRED: `rewards.relevant`.
    Relevant,
    /// FRED → BCG: `rewards.decided`.
    Decided,
    /// BCG → MSQ: `rewards.message.queue`.
    MessageQueue,
    /// TIM → MSQ: `rewards.message.delete`.
    MessageDelete,
}

impl EventType {
    /// Every event type.
    pub const ALL: [EventType; 6] = [
        EventType::ActivityEnriched,
        EventType::Unqualification,
        EventType::Relevant,
        EventType::Decided,
        EventType::MessageQueue,
        EventType::MessageDelete,
    ];

    /// The CloudEvent `type` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ActivityEnriched => "rewards.activity.enriched",
            EventType::Unqualification => "rewards.unqualification",
            EventType::Relevant => "rewards.relevant",
            EventType::Decided => "rewards.decided",
            EventType::MessageQueue => "rewards.message.queue",
            EventType::MessageDelete => "rewards.message.delete",
        }
    }

    pub(super) fn parse(text: &str) -> Option<Self> {
        EventType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}
