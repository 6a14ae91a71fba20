//! Resending a customer's queued messages when they come online.
//!
//! The customer's unexpired queued messages are sent through OSG oldest first (by the
//! activity's time, then sequence), each with its own `messageId` (OSG dedupes by it). After a
//! 200 the message is marked delivered (only if the store still holds that very message);
//! a 404 (the customer is not onsite after all) stops the resend and leaves the rest queued;
//! OSG unavailable (5xx, time-out, after the client's retries) or the store unavailable stops
//! it too and fails it, so the record is redelivered. A message OSG rejects outright (another
//! 4xx) is left queued and skipped, so one poison message cannot block the customer's others.

use chrono::{DateTime, Utc};
use rewards_shared::model::QueuedMessage;
use rewards_shared::ports::{Delivery, MessageStore, OnsiteError, OnsiteGateway, PendingQuery};

/// How a resend ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Every pending message was sent (or skipped as rejected).
    Done,
    /// OSG said the customer is not onsite: `left` messages stay queued.
    NotOnsite {
        /// Messages left queued.
        left: usize,
    },
    /// A transient failure: the record must come again.
    Failed {
        /// What failed.
        reason: String,
    },
}

/// What a resend did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resend {
    /// Messages OSG took, in the order sent.
    pub delivered: Vec<QueuedMessage>,
    /// Messages OSG rejected (left queued).
    pub rejected: Vec<String>,
    /// How it ended.
    pub end: End,
}

/// Resends `brand`/`account_id`'s pending messages at `now`.
pub async fn resend<S: MessageStore, O: OnsiteGateway>(
    store: &S,
    onsite: &O,
    brand: &str,
    account_id: &str,
    now: DateTime<Utc>,
) -> Resend {
    let mut report = Resend {
        delivered: Vec::new(),
        rejected: Vec::new(),
        end: End::Done,
    };
    let pending = match store
        .pending(PendingQuery::new(brand, account_id, now))
        .await
    {
        Ok(pending) => pending,
        Err(error) => {
            report.end = End::Failed {
                reason: error.to_string(),
            };
            return report;
        }
    };
    let total = pending.len();
    for (index, queued) in pending.into_iter().enumerate() {
        match onsite.deliver(&queued.message).await {
            Ok(Delivery::Delivered) => {
                let marked = store.mark_delivered(&queued).await;
                report.delivered.push(queued);
                match marked {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::info!("a newer message replaced the one resent; it stays queued")
                    }
                    Err(error) => {
                        report.end = End::Failed {
                            reason: error.to_string(),
                        };
                        return report;
                    }
                }
            }
            Ok(Delivery::NotOnsite) => {
                report.end = End::NotOnsite {
                    left: total - index,
                };
                return report;
            }
            Err(error @ OnsiteError::Rejected { .. }) => {
                tracing::error!(error = %error, "OSG rejected a queued message; it stays queued");
                report.rejected.push(queued.message.message_id);
            }
            Err(error) => {
                report.end = End::Failed {
                    reason: error.to_string(),
                };
                return report;
            }
        }
    }
    report
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Mutex;

    use super::*;
    use rewards_shared::model::{DeliveryFormat, MessageType, OnsiteMessage};
    use rewards_shared::ports::{ItemState, MemoryMessageStore, MemoryOnsiteGateway, PutResult};

    pub(crate) const ACCOUNT: &str = "10048213";

    pub(crate) fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("date")
    }

    pub(crate) fn queued(
        promo: &str,
        message_type: MessageType,
        sequence: u64,
        occurred_at: &str,
    ) -> QueuedMessage {
        QueuedMessage {
            message: OnsiteMessage {
                message_id: format!("msg-{promo}-{}-{sequence}", message_type.as_str()),
                account_id: ACCOUNT.into(),
                brand: "skybet".into(),
                message_type,
                format: DeliveryFormat::Toast,
                title: format!("title {promo} {sequence}"),
                body: "body".into(),
                promo_code: promo.into(),
                promo_url: "https://example.test".into(),
                correlation_id: "corr".into(),
                expires_at: Some(at("2026-11-23T23:59:59Z")),
            },
            attempt_id: "2026-W47".into(),
            sequence,
            occurred_at: at(occurred_at),
        }
    }

    async fn store_with(messages: &[QueuedMessage]) -> MemoryMessageStore {
        let store = MemoryMessageStore::new();
        for message in messages {
            assert!(matches!(
                store.put(message).await,
                Ok(PutResult::Stored { .. })
            ));
        }
        store
    }

    const NOW: &str = "2026-11-18T10:00:00Z";

    #[tokio::test]
    async fn resends_oldest_first_keeping_message_ids() {
        let newer = queued("B", MessageType::Progress, 3, "2026-11-17T10:00:00Z");
        let older = queued("A", MessageType::Progress, 9, "2026-11-16T10:00:00Z");
        let store = store_with(&[newer.clone(), older.clone()]).await;
        let onsite = MemoryOnsiteGateway::new([ACCOUNT]);
        let report = resend(&store, &onsite, "skybet", ACCOUNT, at(NOW)).await;
        assert_eq!(report.end, End::Done);
        assert_eq!(report.delivered, vec![older.clone(), newer.clone()]);
        let ids: Vec<_> = onsite
            .delivered()
            .into_iter()
            .map(|m| m.message_id)
            .collect();
        assert_eq!(
            ids,
            vec![older.message.message_id, newer.message.message_id]
        );
        assert!(store
            .pending(PendingQuery::new("skybet", ACCOUNT, at(NOW)))
            .await
            .expect("pending")
            .is_empty());
        assert_eq!(
            store.state("skybet#10048213", "A#2026-W47#PROGRESS"),
            Some(ItemState::Delivered)
        );
    }

    #[tokio::test]
    async fn stops_at_not_onsite_and_keeps_the_rest() {
        let messages = [
            queued("A", MessageType::Progress, 1, "2026-11-16T10:00:00Z"),
            queued("B", MessageType::Progress, 1, "2026-11-17T10:00:00Z"),
        ];
        let store = store_with(&messages).await;
        let onsite = MemoryOnsiteGateway::default();
        let report = resend(&store, &onsite, "skybet", ACCOUNT, at(NOW)).await;
        assert_eq!(report.end, End::NotOnsite { left: 2 });
        assert!(report.delivered.is_empty());
        assert_eq!(onsite.calls(), 1, "stops at the first 404");
        assert_eq!(
            store
                .pending(PendingQuery::new("skybet", ACCOUNT, at(NOW)))
                .await
                .expect("ok")
                .len(),
            2
        );
    }

    #[tokio::test]
    async fn a_failure_midway_keeps_what_was_sent_and_fails() {
        struct FailSecond {
            inner: MemoryOnsiteGateway,
            calls: Mutex<u32>,
        }
        impl OnsiteGateway for FailSecond {
            async fn deliver(&self, message: &OnsiteMessage) -> Result<Delivery, OnsiteError> {
                let n = {
                    let mut calls = self.calls.lock().expect("lock");
                    *calls += 1;
                    *calls
                };
                if n == 2 {
                    return Err(OnsiteError::Unavailable {
                        message_id: message.message_id.clone(),
                        reason: "status 503".into(),
                    });
                }
                self.inner.deliver(message).await
            }
        }
        let messages = [
            queued("A", MessageType::Progress, 1, "2026-11-16T10:00:00Z"),
            queued("B", MessageType::Progress, 1, "2026-11-17T10:00:00Z"),
            queued("C", MessageType::Progress, 1, "2026-11-17T11:00:00Z"),
        ];
        let store = store_with(&messages).await;
        let onsite = FailSecond {
            inner: MemoryOnsiteGateway::new([ACCOUNT]),
            calls: Mutex::new(0),
        };
        let report = resend(&store, &onsite, "skybet", ACCOUNT, at(NOW)).await;
        assert!(matches!(report.end, End::Failed { .. }));
        assert_eq!(report.delivered.len(), 1);
        let left: Vec<_> = store
            .pending(PendingQuery::new("skybet", ACCOUNT, at(NOW)))
            .await
            .expect("ok")
            .into_iter()
            .map(|m| m.message.promo_code)
            .collect();
        assert_eq!(left, vec!["B", "C"]);
    }

    #[tokio::test]
    async fn rejected_messages_are_skipped_and_stay_queued() {
        struct RejectA(MemoryOnsiteGateway);
        impl OnsiteGateway for RejectA {
            async fn deliver(&self, message: &OnsiteMessage) -> Result<Delivery, OnsiteError> {
                if message.promo_code == "A" {
                    return Err(OnsiteError::Rejected {
                        message_id: message.message_id.clone(),
                        reason: "status 422".into(),
                    });
                }
                self.0.deliver(message).await
            }
        }
        let messages = [
            queued("A", MessageType::Progress, 1, "2026-11-16T10:00:00Z"),
            queued("B", MessageType::Progress, 1, "2026-11-17T10:00:00Z"),
        ];
        let store = store_with(&messages).await;
        let report = resend(
            &store,
            &RejectA(MemoryOnsiteGateway::new([ACCOUNT])),
            "skybet",
            ACCOUNT,
            at(NOW),
        )
        .await;
        assert_eq!(report.end, End::Done);
        assert_eq!(report.delivered.len(), 1);
        assert_eq!(
            report.rejected,
            vec![messages[0].message.message_id.clone()]
        );
    }

    #[tokio::test]
    async fn expired_messages_are_not_resent() {
        let mut expired = queued("A", MessageType::Progress, 1, "2026-11-16T10:00:00Z");
        expired.message.expires_at = Some(at("2026-11-18T09:59:59Z"));
        let live = queued("B", MessageType::Progress, 1, "2026-11-17T10:00:00Z");
        let store = store_with(&[expired, live.clone()]).await;
        let onsite = MemoryOnsiteGateway::new([ACCOUNT]);
        let report = resend(&store, &onsite, "skybet", ACCOUNT, at(NOW)).await;
        assert_eq!(report.delivered, vec![live]);
        assert_eq!(onsite.calls(), 1);
    }

    #[tokio::test]
    async fn other_customers_messages_are_not_touched() {
        let mut other = queued("A", MessageType::Progress, 1, "2026-11-16T10:00:00Z");
        other.message.account_id = "999".into();
        let store = store_with(&[other]).await;
        let onsite = MemoryOnsiteGateway::new([ACCOUNT, "999"]);
        let report = resend(&store, &onsite, "skybet", ACCOUNT, at(NOW)).await;
        assert!(report.delivered.is_empty());
        assert_eq!(onsite.calls(), 0);
    }
}
