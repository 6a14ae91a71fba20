//! [`Faulty`]: each port wrapped, failing as its AWS or HTTP counterpart does.

use super::*;

/// A port with faults injected.
#[derive(Debug, Clone)]
pub struct Faulty<P> {
    inner: P,
    faults: Arc<Faults>,
}

impl<P> Faulty<P> {
    /// `inner`, failing as `faults` decides.
    pub fn new(inner: P, faults: Arc<Faults>) -> Self {
        Faulty { inner, faults }
    }

    /// The wrapped port.
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

const CRASHED: &str = "the process crashed";

impl<S: PromotionSource> PromotionSource for Faulty<S> {
    async fn promotion(
        &self,
        promo_code: &str,
    ) -> Result<Arc<rewards_shared::model::Promotion>, PromotionError> {
        if self.faults.dead() || self.faults.fires(Fault::Pph5xx) {
            return Err(PromotionError::Unavailable {
                promo_code: promo_code.to_owned(),
                reason: "status 503".into(),
            });
        }
        self.inner.promotion(promo_code).await
    }
}

impl<S: TemplateSource> TemplateSource for Faulty<S> {
    async fn template(
        &self,
        query: TemplateQuery<'_>,
    ) -> Result<Option<Arc<Template>>, TemplateError> {
        if self.faults.dead() || self.faults.fires(Fault::Csl5xx) {
            return Err(TemplateError::unavailable(query, "status 502"));
        }
        self.inner.template(query).await
    }
}

impl<G: OnsiteGateway> OnsiteGateway for Faulty<G> {
    async fn deliver(&self, message: &OnsiteMessage) -> Result<Delivery, OnsiteError> {
        let unavailable = |reason: &str| OnsiteError::Unavailable {
            message_id: message.message_id.clone(),
            reason: reason.to_owned(),
        };
        if self.faults.allow(1) == 0 {
            return Err(unavailable(CRASHED));
        }
        if self.faults.fires(Fault::Osg5xx) {
            return Err(unavailable("status 503"));
        }
        let answer = self.inner.deliver(message).await;
        if self.faults.fires(Fault::OsgTimeout) {
            return Err(unavailable("timed out after the request was sent"));
        }
        answer
    }
}

impl<S: TimStateStore> Faulty<S> {
    /// The error of a crashed or throttled TIM store write (each is a side effect), if this
    /// one is.
    fn tim_fault(&self, key: &StateKey) -> Option<TimStateError> {
        let reason = if self.faults.allow(1) == 0 {
            CRASHED
        } else if self.faults.fires(Fault::TimThrottle) {
            "ThrottlingException: rate of requests exceeds the allowed throughput"
        } else {
            return None;
        };
        Some(TimStateError::Unavailable {
            key: key.partition_key(),
            reason: reason.to_owned(),
        })
    }
}

impl<S: TimStateStore> TimStateStore for Faulty<S> {
    async fn advance(
        &self,
        key: &StateKey,
        update: &StateUpdate,
    ) -> Result<WriteResult, TimStateError> {
        if let Some(error) = self.tim_fault(key) {
            return Err(error);
        }
        self.inner.advance(key, update).await
    }
}

impl<S: MessageStore> Faulty<S> {
    /// The error of a throttled or crashed MSQ store call, if this one is.
    fn msq_fault(&self, key: impl FnOnce() -> String, effect: bool) -> Option<MessageStoreError> {
        let reason = if (effect && self.faults.allow(1) == 0) || (!effect && self.faults.dead()) {
            CRASHED
        } else if self.faults.fires(Fault::MsqThrottle) {
            "ProvisionedThroughputExceededException"
        } else {
            return None;
        };
        Some(MessageStoreError::Unavailable {
            key: key(),
            reason: reason.to_owned(),
        })
    }
}

fn message_key(message: &QueuedMessage) -> String {
    format!(
        "{}#{}/{}#{}#{}",
        message.message.brand,
        message.message.account_id,
        message.message.promo_code,
        message.attempt_id,
        message.message.message_type
    )
}

impl<S: MessageStore> MessageStore for Faulty<S> {
    async fn put(&self, message: &QueuedMessage) -> Result<PutResult, MessageStoreError> {
        if let Some(error) = self.msq_fault(|| message_key(message), true) {
            return Err(error);
        }
        self.inner.put(message).await
    }

    async fn tombstone(
        &self,
        instruction: &DeleteInstruction,
    ) -> Result<TombstoneResult, MessageStoreError> {
        let key = || {
            format!(
                "{}#{}/{}#{}#REWARD_AWARDED",
                instruction.brand,
                instruction.account_id,
                instruction.promo_code,
                instruction.attempt_id
            )
        };
        if let Some(error) = self.msq_fault(key, true) {
            return Err(error);
        }
        self.inner.tombstone(instruction).await
    }

    async fn pending(
        &self,
        query: PendingQuery<'_>,
    ) -> Result<Vec<QueuedMessage>, MessageStoreError> {
        let customer = || format!("{}#{}", query.brand, query.account_id);
        if let Some(error) = self.msq_fault(customer, false) {
            return Err(error);
        }
        self.inner.pending(query).await
    }

    async fn mark_delivered(&self, message: &QueuedMessage) -> Result<bool, MessageStoreError> {
        if let Some(error) = self.msq_fault(|| message_key(message), true) {
            return Err(error);
        }
        self.inner.mark_delivered(message).await
    }
}

impl<P: Publisher> Publisher for Faulty<P> {
    async fn publish(&self, messages: Vec<OutgoingMessage>) -> Result<(), PublishError> {
        let sent = self.faults.allow(messages.len());
        let failing = self.faults.failing_entries(sent);
        let mut failed = Vec::new();
        let mut outgoing = Vec::with_capacity(sent);
        for (index, message) in messages.into_iter().enumerate() {
            let reason = if index >= sent {
                CRASHED
            } else if failing.get(index).copied().unwrap_or(false) {
                "ServiceUnavailable: the SQS entry was not sent"
            } else {
                outgoing.push(message);
                continue;
            };
            failed.push(FailedMessage {
                id: message.id,
                reason: reason.to_owned(),
                retryable: true,
            });
        }
        if !outgoing.is_empty() {
            if let Err(error) = self.inner.publish(outgoing).await {
                failed.extend(error.failed);
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(PublishError { failed })
        }
    }
}

impl<D: DeadLetterSink> DeadLetterSink for Faulty<D> {
    async fn send(&self, letters: Vec<DeadLetter>) -> Result<(), DeadLetterError> {
        if self.faults.allow(letters.len()) < letters.len() {
            return Err(DeadLetterError {
                sources: letters.iter().map(|letter| letter.source.clone()).collect(),
                reason: CRASHED.to_owned(),
            });
        }
        self.inner.send(letters).await
    }
}
