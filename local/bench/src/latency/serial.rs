//! The runner's schedule: one executor for every stage, as `rewards run --aws` works.
//!
//! The event source mappings of [`run_hop`] run the hops side by side, each with its own
//! pollers. The runner has one: it feeds an MSK batch to DEC (or MSQ's online trigger), then
//! drains. A drain checks whether every queue is empty (an idle check), and if not, goes through
//! the queues in a fixed order (`cpp-enriched-events`, `relevant-events`,
//! `relevant-unqualification-events`, `decided-events`, `msq-inbound-queue`,
//! `msq-inbound-delete`), receiving from each (at most ten messages, no window) and invoking its
//! stage, one batch at a time, until a receive comes back empty; then checks again. A
//! message sent during an invocation can be received at the next receive (SQS delivers at
//! once; moto too). The next MSK batch is fed once the drain is over.
//!
//! [`simulate_serial`] plays that schedule with handler times drawn per invocation and each
//! receive and idle check at its measured time, and returns, for every message shown by OSG,
//! the times each stage started on it.
//!
//! [`run_hop`]: super::run_hop

use rewards_shared::ports::Destination;
use rewards_shared::stage::Stage;

use super::{HandlerTime, Rng};

/// The runner's drain order (`Pipeline::drain`).
pub const ORDER: [Destination; 6] = Destination::ALL;

/// Where a stage's records go, per record handled (shares may sum above 1: a record can send
/// to several queues).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Routes {
    /// Share of records sent on to each queue of [`ORDER`].
    pub to_queue: [f64; 6],
    /// Share of records shown by OSG (BCG).
    pub to_osg: f64,
}

/// A stage's handler time per invocation: `wait_ms + records × cpu_ms`, times a factor drawn
/// from `factors` (the measured spread around that line; `[1.0]` for none).
#[derive(Debug, Clone, PartialEq)]
pub struct SerialHandler {
    /// The line.
    pub time: HandlerTime,
    /// Measured time over the line's, per invocation measured.
    pub factors: Vec<f64>,
}

impl SerialHandler {
    /// A handler that always takes `wait_ms + records × cpu_ms`.
    pub fn fixed(wait_ms: f64, cpu_ms: f64) -> Self {
        SerialHandler {
            time: HandlerTime { wait_ms, cpu_ms },
            factors: vec![1.0],
        }
    }

    fn draw(&self, records: usize, rng: &mut Rng) -> f64 {
        let factor = if self.factors.is_empty() {
            1.0
        } else {
            self.factors[rng.below(self.factors.len())]
        };
        (self.time.wait_ms + self.time.cpu_ms * records as f64) * factor
    }
}

/// One MSK batch the runner feeds: its stage (DEC or MSQ), its records and what it sent to
/// each queue of [`ORDER`].
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    /// DEC (CPP or EPPM topic) or MSQ (the online topic).
    pub stage: Stage,
    /// Records in the batch.
    pub records: usize,
    /// Messages it sent to each queue of [`ORDER`].
    pub sent: [usize; 6],
}

/// The runner as the model sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SerialRunner {
    /// The MSK-triggered stages' handlers: DEC, then MSQ's online trigger.
    pub dec: SerialHandler,
    /// MSQ's online trigger.
    pub msq_online: SerialHandler,
    /// Per queue of [`ORDER`]: its consumer's handler and where that stage's records go.
    pub queues: [(SerialHandler, Routes); 6],
    /// One `ReceiveMessage` that returned messages, ms.
    pub receive_ms: f64,
    /// One that returned none, ms.
    pub empty_receive_ms: f64,
    /// One idle check, ms.
    pub idle_check_ms: f64,
}

/// When each stage started on a message OSG showed, and when it was shown (the end of BCG's
/// invocation), ms from the start of the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShownTimes {
    /// DEC started (the origin: the batch was fed).
    pub dec: f64,
    /// TIM started.
    pub tim: f64,
    /// FRED started.
    pub fred: f64,
    /// BCG started.
    pub bcg: f64,
    /// Shown.
    pub osg: f64,
}

/// A message in a queue: when DEC and TIM started on the event (TIM: `None` off the CPP
/// path), and FRED.
#[derive(Debug, Clone, Copy)]
struct Carried {
    dec: f64,
    tim: Option<f64>,
    fred: Option<f64>,
}

/// Sends `records` on by `routes`, each share an accumulator so that the counts are exact
/// over a run (seeded by nothing: deterministic).
fn route(
    records: &[Carried],
    routes: &Routes,
    owed: &mut [f64; 7],
    mut send: impl FnMut(usize, Carried),
    mut show: impl FnMut(Carried),
) {
    for record in records {
        for (queue, share) in routes.to_queue.iter().enumerate() {
            owed[queue] += share;
            while owed[queue] >= 1.0 - 1e-9 {
                owed[queue] -= 1.0;
                send(queue, *record);
            }
        }
        owed[6] += routes.to_osg;
        if owed[6] >= 1.0 - 1e-9 {
            owed[6] -= 1.0;
            show(*record);
        }
    }
}

/// Plays the runner's schedule over `feeds` (see the module documentation); every message OSG
/// showed on the CPP path, in the order shown.
pub fn simulate_serial(runner: &SerialRunner, feeds: &[Feed], seed: u64) -> Vec<ShownTimes> {
    let mut rng = Rng::new(seed);
    let mut t = 0.0;
    let mut queues: [Vec<Carried>; 6] = Default::default();
    let mut owed = [[0.0f64; 7]; 6];
    let mut shown = Vec::new();
    for feed in feeds {
        let handler = if feed.stage == Stage::Msq {
            &runner.msq_online
        } else {
            &runner.dec
        };
        let origin = t;
        t += handler.draw(feed.records, &mut rng);
        for (queue, count) in feed.sent.iter().enumerate() {
            for _ in 0..*count {
                queues[queue].push(Carried {
                    dec: origin,
                    tim: None,
                    fred: None,
                });
            }
        }
        loop {
            t += runner.idle_check_ms;
            if queues.iter().all(Vec::is_empty) {
                break;
            }
            for (index, destination) in ORDER.iter().enumerate() {
                loop {
                    if queues[index].is_empty() {
                        t += runner.empty_receive_ms;
                        break;
                    }
                    t += runner.receive_ms;
                    let take = queues[index].len().min(10);
                    let batch: Vec<Carried> = queues[index].drain(..take).collect();
                    let start = t;
                    let (handler, routes) = &runner.queues[index];
                    t += handler.draw(batch.len(), &mut rng);
                    let end = t;
                    let stamped: Vec<Carried> = batch
                        .iter()
                        .map(|c| match destination {
                            Destination::EnrichedEvents => Carried {
                                tim: Some(start),
                                ..*c
                            },
                            Destination::RelevantEvents | Destination::UnqualificationEvents => {
                                Carried {
                                    fred: Some(start),
                                    ..*c
                                }
                            }
                            _ => *c,
                        })
                        .collect();
                    let mut sent: Vec<(usize, Carried)> = Vec::new();
                    route(
                        &stamped,
                        routes,
                        &mut owed[index],
                        |queue, c| sent.push((queue, c)),
                        |c| {
                            if let (Some(tim), Some(fred)) = (c.tim, c.fred) {
                                shown.push(ShownTimes {
                                    dec: c.dec,
                                    tim,
                                    fred,
                                    bcg: start,
                                    osg: end,
                                });
                            }
                        },
                    );
                    for (queue, c) in sent {
                        queues[queue].push(c);
                    }
                }
            }
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(to: &[(Destination, f64)], to_osg: f64) -> Routes {
        let mut out = Routes {
            to_osg,
            ..Routes::default()
        };
        for (destination, share) in to {
            if let Some(index) = ORDER.iter().position(|d| d == destination) {
                out.to_queue[index] = *share;
            }
        }
        out
    }

    /// DEC 10 ms + 1 ms per record, TIM 20 ms per batch, FRED 30, BCG 40; receives 2 ms, empty
    /// ones 1 ms, idle checks 5 ms; every record goes on, BCG shows each one.
    fn runner() -> SerialRunner {
        let none = (SerialHandler::fixed(0.0, 0.0), Routes::default());
        SerialRunner {
            dec: SerialHandler::fixed(10.0, 1.0),
            msq_online: SerialHandler::fixed(0.0, 0.0),
            queues: [
                (
                    SerialHandler::fixed(20.0, 0.0),
                    routes(&[(Destination::RelevantEvents, 1.0)], 0.0),
                ),
                (
                    SerialHandler::fixed(30.0, 0.0),
                    routes(&[(Destination::DecidedEvents, 1.0)], 0.0),
                ),
                none.clone(),
                (SerialHandler::fixed(40.0, 0.0), routes(&[], 1.0)),
                none.clone(),
                none,
            ],
            receive_ms: 2.0,
            empty_receive_ms: 1.0,
            idle_check_ms: 5.0,
        }
    }

    fn feed(records: usize) -> Feed {
        let mut sent = [0; 6];
        sent[0] = records;
        Feed {
            stage: Stage::Dec,
            records,
            sent,
        }
    }

    #[test]
    fn one_event_crosses_the_drain_in_order() {
        let shown = simulate_serial(&runner(), &[feed(1)], 1);
        // DEC 0–11; idle check to 16; receive TIM to 18, TIM 18–38; empty receive to 39;
        // receive FRED to 41, FRED 41–71; empty to 72; unqualification empty to 73;
        // receive BCG to 75, BCG 75–115.
        assert_eq!(
            shown,
            vec![ShownTimes {
                dec: 0.0,
                tim: 18.0,
                fred: 41.0,
                bcg: 75.0,
                osg: 115.0
            }]
        );
    }

    #[test]
    fn a_batch_waits_for_every_batch_of_the_hop_before_it() {
        // 20 records: DEC 0–30; idle 35; TIM 37–57 and 59–79 (two batches of ten); empty 80;
        // FRED 82–112 and 114–144; empty 145; unqualification 146; BCG 148–188, 190–230.
        let shown = simulate_serial(&runner(), &[feed(20)], 1);
        assert_eq!(shown.len(), 20);
        assert_eq!(shown[0].tim, 37.0);
        assert_eq!(shown[10].tim, 59.0);
        assert_eq!(shown[0].fred, 82.0);
        assert_eq!(shown[0].osg, 188.0);
        assert_eq!(shown[19].osg, 230.0);
    }

    #[test]
    fn shares_send_on_an_exact_count() {
        let mut runner = runner();
        runner.queues[0].1 = routes(&[(Destination::RelevantEvents, 0.5)], 0.0);
        let shown = simulate_serial(&runner, &[feed(10)], 1);
        assert_eq!(shown.len(), 5);
    }
}
