//! The onsite gateway port (OSG): shows a message to a customer who is onsite.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Mutex;

use crate::error::Retryable;
use crate::model::OnsiteMessage;

/// What OSG did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Shown to the customer (200). OSG dedupes by `messageId`: a repeat is also `Delivered`.
    Delivered,
    /// The customer is not onsite (404): queue the message.
    NotOnsite,
}

/// A failed delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnsiteError {
    /// OSG failed or timed out (5xx, 429, connection), even after retries.
    #[error("OSG unavailable for message `{message_id}`: {reason}")]
    Unavailable {
        /// The message.
        message_id: String,
        /// The last failure.
        reason: String,
    },
    /// OSG refused the message (another 4xx): retrying the same call will not help.
    #[error("OSG rejected message `{message_id}`: {reason}")]
    Rejected {
        /// The message.
        message_id: String,
        /// What OSG said.
        reason: String,
    },
}

impl Retryable for OnsiteError {
    fn is_retryable(&self) -> bool {
        matches!(self, OnsiteError::Unavailable { .. })
    }
}

/// Delivers onsite messages.
pub trait OnsiteGateway: Send + Sync {
    /// Shows `message` to its customer, if they are onsite.
    fn deliver(
        &self,
        message: &OnsiteMessage,
    ) -> impl Future<Output = Result<Delivery, OnsiteError>> + Send;
}

impl<G: OnsiteGateway + ?Sized> OnsiteGateway for std::sync::Arc<G> {
    fn deliver(
        &self,
        message: &OnsiteMessage,
    ) -> impl Future<Output = Result<Delivery, OnsiteError>> + Send {
        (**self).deliver(message)
    }
}

/// An in-memory OSG (the local runner's, and tests'): customers in the online set get their
/// messages (deduplicated by `messageId`, like OSG), others get `NotOnsite`; failures can be
/// scripted. Its log ([`MemoryOnsiteGateway::delivered`]) is what the customers saw.
#[derive(Debug, Default)]
pub struct MemoryOnsiteGateway {
    online: Mutex<HashSet<String>>,
    delivered: Mutex<Delivered>,
    failures: Mutex<u32>,
    calls: Mutex<u64>,
}

/// The log of shown messages, and how often each id was offered while its customer was onsite.
#[derive(Debug, Default)]
struct Delivered {
    shown: Vec<OnsiteMessage>,
    attempts: HashMap<String, u64>,
}

impl MemoryOnsiteGateway {
    /// A gateway with these customers onsite.
    pub fn new<I, S>(online: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let gateway = MemoryOnsiteGateway::default();
        for account in online {
            gateway.set_online(account, true);
        }
        gateway
    }

    /// Puts a customer onsite (`true`) or takes them off (`false`).
    pub fn set_online(&self, account_id: impl Into<String>, online: bool) {
        if let Ok(mut accounts) = self.online.lock() {
            let account_id = account_id.into();
            if online {
                accounts.insert(account_id);
            } else {
                accounts.remove(&account_id);
            }
        }
    }

    /// Whether a customer is onsite.
    pub fn is_online(&self, account_id: &str) -> bool {
        self.online
            .lock()
            .map(|accounts| accounts.contains(account_id))
            .unwrap_or(false)
    }

    /// The next `n` calls fail as unavailable (like a 5xx outliving the retries).
    pub fn fail_next(&self, n: u32) {
        if let Ok(mut failures) = self.failures.lock() {
            *failures = n;
        }
    }

    /// The messages delivered so far, each once, in order.
    pub fn delivered(&self) -> Vec<OnsiteMessage> {
        self.delivered
            .lock()
            .map(|delivered| delivered.shown.clone())
            .unwrap_or_default()
    }

    /// Deliveries of a `messageId` OSG had already shown (answered 200 and deduplicated):
    /// the at-least-once repeats the idempotency key absorbs.
    pub fn repeats(&self) -> u64 {
        self.delivered
            .lock()
            .map(|delivered| {
                delivered
                    .attempts
                    .values()
                    .map(|attempts| attempts.saturating_sub(1))
                    .sum()
            })
            .unwrap_or(0)
    }

    /// How many delivery calls were made.
    pub fn calls(&self) -> u64 {
        self.calls.lock().map(|calls| *calls).unwrap_or(0)
    }
}

impl OnsiteGateway for MemoryOnsiteGateway {
    async fn deliver(&self, message: &OnsiteMessage) -> Result<Delivery, OnsiteError> {
        if let Ok(mut calls) = self.calls.lock() {
            *calls += 1;
        }
        let failing = self
            .failures
            .lock()
            .map(|mut failures| {
                let failing = *failures > 0;
                *failures = failures.saturating_sub(1);
                failing
            })
            .unwrap_or(false);
        if failing {
            return Err(OnsiteError::Unavailable {
                message_id: message.message_id.clone(),
                reason: "status 503".into(),
            });
        }
        if !self.is_online(&message.account_id) {
            return Ok(Delivery::NotOnsite);
        }
        let mut delivered = self
            .delivered
            .lock()
            .map_err(|_| OnsiteError::Unavailable {
                message_id: message.message_id.clone(),
                reason: "lock poisoned".into(),
            })?;
        let attempts = delivered
            .attempts
            .entry(message.message_id.clone())
            .or_insert(0);
        *attempts += 1;
        if *attempts == 1 {
            delivered.shown.push(message.clone());
        }
        Ok(Delivery::Delivered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeliveryFormat, MessageType};

    pub(crate) fn message(id: &str, account: &str) -> OnsiteMessage {
        OnsiteMessage {
            message_id: id.into(),
            account_id: account.into(),
            brand: "skybet".into(),
            message_type: MessageType::Progress,
            format: DeliveryFormat::Toast,
            title: "t".into(),
            body: "b".into(),
            promo_code: "P".into(),
            promo_url: "https://example.test".into(),
            correlation_id: "c".into(),
            expires_at: None,
        }
    }

    #[tokio::test]
    async fn online_customers_get_messages_once_others_are_not_onsite() {
        let gateway = MemoryOnsiteGateway::new(["1"]);
        assert_eq!(
            gateway.deliver(&message("m1", "1")).await,
            Ok(Delivery::Delivered)
        );
        assert_eq!(
            gateway.deliver(&message("m1", "1")).await,
            Ok(Delivery::Delivered)
        );
        assert_eq!(
            gateway.deliver(&message("m2", "2")).await,
            Ok(Delivery::NotOnsite)
        );
        assert_eq!(gateway.delivered().len(), 1);
        assert_eq!(gateway.repeats(), 1);
        gateway.set_online("1", false);
        assert_eq!(
            gateway.deliver(&message("m3", "1")).await,
            Ok(Delivery::NotOnsite)
        );
    }

    #[tokio::test]
    async fn scripted_failures_are_unavailable() {
        let gateway = MemoryOnsiteGateway::new(["1"]);
        gateway.fail_next(1);
        let error = gateway
            .deliver(&message("m1", "1"))
            .await
            .expect_err("fails");
        assert!(error.is_retryable());
        assert!(gateway.deliver(&message("m1", "1")).await.is_ok());
        assert_eq!(gateway.calls(), 2);
    }
}
