//! Fault-injecting wrappers of every port, and the crash switch they share with the chaotic
//! transport.
//!
//! [`Faulty`] wraps a port and, with seeded randomness, makes it fail the way its AWS or HTTP
//! counterpart does after the client's own retries:
//!
//! | port | fault |
//! |---|---|
//! | PPH ([`PromotionSource`]) | 5xx → `Unavailable` |
//! | CSL ([`TemplateSource`]) | 5xx → `Unavailable` |
//! | OSG ([`OnsiteGateway`]) | 5xx before the call reaches OSG; a time-out *after* OSG handled it (the customer may have seen the message, the caller does not know) |
//! | TIM's store ([`TimStateStore`]) | DynamoDB throttling: nothing written |
//! | MSQ's store ([`MessageStore`]) | DynamoDB throttling on every call: nothing written |
//! | the publisher ([`Publisher`]) | an SQS `SendMessageBatch` partial failure: some entries sent, the others failed (retryable) |
//!
//! The crash switch models a handler dying between its side effects: the chaotic transport
//! arms it for one invocation with a budget of side effects (messages published, state
//! written, deliveries to OSG, letters sent); once the budget is spent the process is dead and
//! every later effect of that invocation fails without happening. What the dead handler
//! answers does not matter: the transport redelivers the whole batch.

use std::sync::{Arc, Mutex};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rewards_shared::model::{DeleteInstruction, OnsiteMessage, QueuedMessage};
use rewards_shared::ports::{
    DeadLetter, DeadLetterError, DeadLetterSink, Delivery, FailedMessage, MessageStore,
    MessageStoreError, OnsiteError, OnsiteGateway, OutgoingMessage, PendingQuery, PromotionError,
    PromotionSource, PublishError, Publisher, PutResult, StateKey, StateUpdate, Template,
    TemplateError, TemplateQuery, TemplateSource, TimStateError, TimStateStore, TombstoneResult,
    WriteResult,
};
use serde::Serialize;

mod wrappers;
pub use wrappers::Faulty;

/// A kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// PPH answers 5xx.
    Pph5xx,
    /// CSL answers 5xx.
    Csl5xx,
    /// OSG answers 5xx (the message is not shown).
    Osg5xx,
    /// OSG times out after handling the request (the message may have been shown).
    OsgTimeout,
    /// DynamoDB throttles TIM's conditional write.
    TimThrottle,
    /// DynamoDB throttles an MSQ store call.
    MsqThrottle,
    /// SQS fails some entries of a `SendMessageBatch`.
    PublishPartial,
}

/// How often each fault fires, per call (the publisher's: per call, then each entry of a
/// failing call fails with probability one half, at least one).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultShares {
    /// PPH 5xx.
    pub pph_5xx: f64,
    /// CSL 5xx.
    pub csl_5xx: f64,
    /// OSG 5xx.
    pub osg_5xx: f64,
    /// OSG time-out after the call.
    pub osg_timeout: f64,
    /// TIM store throttling.
    pub tim_throttle: f64,
    /// MSQ store throttling.
    pub msq_throttle: f64,
    /// Publisher partial batch failure.
    pub publish_partial: f64,
}

impl FaultShares {
    /// No fault at all.
    pub const NONE: FaultShares = FaultShares {
        pph_5xx: 0.0,
        csl_5xx: 0.0,
        osg_5xx: 0.0,
        osg_timeout: 0.0,
        tim_throttle: 0.0,
        msq_throttle: 0.0,
        publish_partial: 0.0,
    };

    /// The chaos run's shares: a bad day for every dependency at once.
    pub const DEFAULT: FaultShares = FaultShares {
        pph_5xx: 0.02,
        csl_5xx: 0.02,
        osg_5xx: 0.03,
        osg_timeout: 0.02,
        tim_throttle: 0.02,
        msq_throttle: 0.02,
        publish_partial: 0.02,
    };

    fn share(&self, fault: Fault) -> f64 {
        match fault {
            Fault::Pph5xx => self.pph_5xx,
            Fault::Csl5xx => self.csl_5xx,
            Fault::Osg5xx => self.osg_5xx,
            Fault::OsgTimeout => self.osg_timeout,
            Fault::TimThrottle => self.tim_throttle,
            Fault::MsqThrottle => self.msq_throttle,
            Fault::PublishPartial => self.publish_partial,
        }
    }
}

/// How many faults fired, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultCounts {
    /// PPH 5xx answers.
    pub pph_5xx: u64,
    /// CSL 5xx answers.
    pub csl_5xx: u64,
    /// OSG 5xx answers.
    pub osg_5xx: u64,
    /// OSG time-outs after the call.
    pub osg_timeouts: u64,
    /// TIM store throttles.
    pub tim_throttles: u64,
    /// MSQ store throttles.
    pub msq_throttles: u64,
    /// Publish calls that partly failed.
    pub partial_publishes: u64,
    /// Messages those calls failed to send.
    pub unpublished_messages: u64,
    /// Handler crashes (armed by the transport) that cut an invocation short.
    pub crashes_mid_invocation: u64,
}

impl FaultCounts {
    fn count(&mut self, fault: Fault) {
        let counter = match fault {
            Fault::Pph5xx => &mut self.pph_5xx,
            Fault::Csl5xx => &mut self.csl_5xx,
            Fault::Osg5xx => &mut self.osg_5xx,
            Fault::OsgTimeout => &mut self.osg_timeouts,
            Fault::TimThrottle => &mut self.tim_throttles,
            Fault::MsqThrottle => &mut self.msq_throttles,
            Fault::PublishPartial => &mut self.partial_publishes,
        };
        *counter += 1;
    }
}

/// The crash switch of the invocation running now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crash {
    /// No crash planned.
    Off,
    /// The process dies once this many more side effects were tried.
    Armed { budget: usize },
    /// The process is dead: nothing it does has an effect.
    Dead,
}

#[derive(Debug)]
struct State {
    rng: ChaCha8Rng,
    enabled: bool,
    counts: FaultCounts,
    crash: Crash,
}

/// The fault plan every wrapper of one pipeline shares: seeded randomness, the shares, the
/// counts and the crash switch.
#[derive(Debug)]
pub struct Faults {
    shares: FaultShares,
    state: Mutex<State>,
}

impl Faults {
    /// Faults firing at `shares`, drawn from `seed`.
    pub fn new(shares: FaultShares, seed: u64) -> Arc<Self> {
        Arc::new(Faults {
            shares,
            state: Mutex::new(State {
                rng: ChaCha8Rng::seed_from_u64(seed),
                enabled: true,
                counts: FaultCounts::default(),
                crash: Crash::Off,
            }),
        })
    }

    /// No faults (the clean run).
    pub fn none() -> Arc<Self> {
        Faults::new(FaultShares::NONE, 0)
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        match self.state.lock() {
            Ok(mut state) => f(&mut state),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Turns every fault on or off (the crash switch included); counts are kept.
    pub fn set_enabled(&self, enabled: bool) {
        self.with(|state| {
            state.enabled = enabled;
            if !enabled {
                state.crash = Crash::Off;
            }
        });
    }

    /// The faults fired so far.
    pub fn counts(&self) -> FaultCounts {
        self.with(|state| state.counts)
    }

    /// Whether `fault` fires on this call.
    fn fires(&self, fault: Fault) -> bool {
        let share = self.shares.share(fault);
        self.with(|state| {
            if !state.enabled || share <= 0.0 || !state.rng.random_bool(share.min(1.0)) {
                return false;
            }
            state.counts.count(fault);
            true
        })
    }

    /// Which entries of a publish call of `len` entries fail (none unless the fault fires).
    fn failing_entries(&self, len: usize) -> Vec<bool> {
        if len == 0 || !self.fires(Fault::PublishPartial) {
            return vec![false; len];
        }
        self.with(|state| {
            let mut failing: Vec<bool> = (0..len).map(|_| state.rng.random_bool(0.5)).collect();
            if !failing.contains(&true) {
                let index = state.rng.random_range(0..len);
                failing[index] = true;
            }
            state.counts.unpublished_messages += failing.iter().filter(|f| **f).count() as u64;
            failing
        })
    }

    /// Arms the crash switch for the invocation about to run: the process dies once
    /// `budget` side effects were tried.
    pub fn arm_crash(&self, budget: usize) {
        self.with(|state| {
            if state.enabled {
                state.crash = Crash::Armed { budget };
            }
        });
    }

    /// Clears the crash switch after the invocation; true when the process died during it.
    pub fn disarm_crash(&self) -> bool {
        self.with(|state| {
            let died = state.crash == Crash::Dead;
            state.crash = Crash::Off;
            died
        })
    }

    /// Of `effects` side effects about to happen, how many happen before the process dies
    /// (all of them when no crash is armed).
    pub fn allow(&self, effects: usize) -> usize {
        self.with(|state| match state.crash {
            Crash::Off => effects,
            Crash::Dead => 0,
            Crash::Armed { budget } if effects <= budget => {
                state.crash = Crash::Armed {
                    budget: budget - effects,
                };
                effects
            }
            Crash::Armed { budget } => {
                state.crash = Crash::Dead;
                state.counts.crashes_mid_invocation += 1;
                budget
            }
        })
    }

    /// True when the process is dead (reads do not count as effects, but fail too).
    fn dead(&self) -> bool {
        self.with(|state| state.crash == Crash::Dead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewards_shared::envelope::EventType;
    use rewards_shared::ports::{Destination, MemoryPublisher};

    fn message(id: &str) -> OutgoingMessage {
        OutgoingMessage {
            destination: Destination::RelevantEvents,
            id: id.into(),
            event_type: EventType::Relevant,
            correlation_id: "c".into(),
            body: "{}".into(),
            group: Some(format!("group-{id}")),
            deduplication_id: None,
        }
    }

    #[tokio::test]
    async fn a_crash_lets_the_budget_through_and_nothing_after() {
        let faults = Faults::new(FaultShares::NONE, 1);
        let publisher = Arc::new(MemoryPublisher::new());
        let faulty = Faulty::new(Arc::clone(&publisher), Arc::clone(&faults));
        faults.arm_crash(2);
        let error = faulty
            .publish(vec![message("a"), message("b"), message("c")])
            .await
            .expect_err("crashed");
        assert_eq!(error.failed.len(), 1);
        assert!(faulty.publish(vec![message("d")]).await.is_err());
        assert!(faults.disarm_crash());
        faulty
            .publish(vec![message("e")])
            .await
            .expect("alive again");
        let sent: Vec<String> = publisher.take_all().into_iter().map(|m| m.id).collect();
        assert_eq!(sent, ["a", "b", "e"]);
        assert_eq!(faults.counts().crashes_mid_invocation, 1);
    }

    #[tokio::test]
    async fn partial_publish_failures_send_the_rest_and_are_seeded() {
        let run = |seed| async move {
            let shares = FaultShares {
                publish_partial: 1.0,
                ..FaultShares::NONE
            };
            let faults = Faults::new(shares, seed);
            let publisher = Arc::new(MemoryPublisher::new());
            let faulty = Faulty::new(Arc::clone(&publisher), Arc::clone(&faults));
            let ids: Vec<String> = (0..10).map(|i| i.to_string()).collect();
            let error = faulty
                .publish(ids.iter().map(|id| message(id)).collect())
                .await
                .expect_err("partial");
            let sent = publisher.take_all().len();
            assert_eq!(sent + error.failed.len(), 10);
            assert!(error.failed.iter().all(|f| f.retryable));
            error.failed.into_iter().map(|f| f.id).collect::<Vec<_>>()
        };
        assert_eq!(run(7).await, run(7).await);
    }

    #[tokio::test]
    async fn disabled_faults_never_fire() {
        let faults = Faults::new(
            FaultShares {
                tim_throttle: 1.0,
                ..FaultShares::NONE
            },
            3,
        );
        faults.set_enabled(false);
        let store = Faulty::new(
            rewards_shared::ports::MemoryTimStateStore::new(),
            Arc::clone(&faults),
        );
        let key = StateKey {
            account_id: "1".into(),
            promo_code: "P".into(),
            attempt_id: "A".into(),
        };
        let update = StateUpdate {
            sequence: 1,
            event_id: "e".into(),
            progress: Default::default(),
            awards: false,
            expires_at: None,
            delivery: "m".into(),
        };
        assert!(store.advance(&key, &update).await.is_ok());
        assert_eq!(faults.counts(), FaultCounts::default());
    }
}
