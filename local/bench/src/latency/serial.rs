//! The runner's schedule: one executor for every stage, as `rewards run --aws` works.
//!
//! The event source mappings of [`run_hop`] run the hops side by side, each with its own
//! pollers. The runner has one: it feeds an MSK batch to DEC (or MSQ's online trigger), then
//! drains. A drain checks whether every queue is empty (an idle check), and if not, goes through
//! the queues in a fixed order (`cpp-enriched-events`, `relevant-events`,
//! `relevant-unqualification-events`, `decided-events`, `msq-inbound-queue`,
//! `msq-inbound-delete`), receiving from each (at most ten messages, no window) and invoking its
//! stage, one batch at a time (and settling it: a `DeleteMessageBatch`), until a receive comes
//! back empty; then checks again. A
//! message sent during an invocation can be received at the next receive (SQS delivers at
//! once; moto too). The next MSK batch is fed once the drain is over.
//!
//! [`simulate_serial`] plays that schedule with handler times drawn per invocation and each
//! receive, settle and idle check drawn from the measured ones, and returns, for every event
//! that reached BCG, the times each stage started on it and whether OSG showed it.
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

/// A stage's handler time per invocation: one of the times measured for batches of the same
/// size when there are any (`by_size`), else `wait_ms + records × cpu_ms` times a factor drawn
/// from `factors` (the measured spread around that line; `[1.0]` for none).
#[derive(Debug, Clone, PartialEq)]
pub struct SerialHandler {
    /// The line.
    pub time: HandlerTime,
    /// Measured time over the line's, per invocation measured.
    pub factors: Vec<f64>,
    /// Measured times, ms, by batch size.
    pub by_size: std::collections::BTreeMap<usize, Vec<f64>>,
}

impl SerialHandler {
    /// A handler that always takes `wait_ms + records × cpu_ms`.
    pub fn fixed(wait_ms: f64, cpu_ms: f64) -> Self {
        SerialHandler {
            time: HandlerTime { wait_ms, cpu_ms },
            factors: vec![1.0],
            by_size: std::collections::BTreeMap::new(),
        }
    }

    fn draw(&self, records: usize, rng: &mut Rng) -> f64 {
        if let Some(times) = self.by_size.get(&records).filter(|t| !t.is_empty()) {
            return times[rng.below(times.len())];
        }
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
    /// Its handler time as measured, ms (`None`: drawn like any other invocation).
    pub elapsed_ms: Option<f64>,
}

/// Measured times of one kind of call, ms: each call of the model draws one of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    /// Every call takes `ms`.
    pub fn fixed(ms: f64) -> Self {
        Samples(vec![ms])
    }

    /// The mean (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.0.is_empty() {
            0.0
        } else {
            self.0.iter().sum::<f64>() / self.0.len() as f64
        }
    }

    fn draw(&self, rng: &mut Rng) -> f64 {
        if self.0.is_empty() {
            0.0
        } else {
            self.0[rng.below(self.0.len())]
        }
    }
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
    /// Per queue of [`ORDER`]: one `ReceiveMessage` that returned messages.
    pub receive: [Samples; 6],
    /// Per queue: one that returned none.
    pub empty_receive: [Samples; 6],
    /// One idle check.
    pub idle_check: Samples,
    /// Per queue: settling a batch after its invocation (`DeleteMessageBatch`).
    pub settle: [Samples; 6],
}

/// When each stage started on an event that reached BCG on the CPP path, ms from the start
/// of the run, and whether OSG showed it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BcgTimes {
    /// DEC started (the origin: the batch was fed).
    pub dec: f64,
    /// TIM started.
    pub tim: f64,
    /// FRED started.
    pub fred: f64,
    /// BCG started.
    pub bcg: f64,
    /// BCG's invocation ended (a message it showed was shown by then).
    pub end: f64,
    /// Shown by OSG.
    pub shown: bool,
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
/// over a run (deterministic); whether OSG showed each record.
fn route(
    records: &[Carried],
    routes: &Routes,
    owed: &mut [f64; 7],
    mut send: impl FnMut(usize, Carried),
) -> Vec<bool> {
    let mut shown = Vec::with_capacity(records.len());
    for record in records {
        for (queue, share) in routes.to_queue.iter().enumerate() {
            owed[queue] += share;
            while owed[queue] >= 1.0 - 1e-9 {
                owed[queue] -= 1.0;
                send(queue, *record);
            }
        }
        owed[6] += routes.to_osg;
        let show = owed[6] >= 1.0 - 1e-9;
        if show {
            owed[6] -= 1.0;
        }
        shown.push(show);
    }
    shown
}

/// What [`simulate_serial`] played.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SerialRun {
    /// Every event that reached BCG on the CPP path, in order.
    pub reached: Vec<BcgTimes>,
    /// Invocations per queue of [`ORDER`].
    pub batches: [usize; 6],
    /// When the last drain ended, ms.
    pub end_ms: f64,
}

impl SerialRun {
    /// The events OSG showed.
    pub fn shown(&self) -> Vec<BcgTimes> {
        self.reached.iter().copied().filter(|r| r.shown).collect()
    }
}

/// Plays the runner's schedule over `feeds` (see the module documentation).
pub fn simulate_serial(runner: &SerialRunner, feeds: &[Feed], seed: u64) -> SerialRun {
    let mut rng = Rng::new(seed);
    let mut t = 0.0;
    let mut queues: [Vec<Carried>; 6] = Default::default();
    let mut owed = [[0.0f64; 7]; 6];
    let mut reached = Vec::new();
    let mut batches = [0usize; 6];
    for feed in feeds {
        let handler = if feed.stage == Stage::Msq {
            &runner.msq_online
        } else {
            &runner.dec
        };
        let origin = t;
        t += feed
            .elapsed_ms
            .unwrap_or_else(|| handler.draw(feed.records, &mut rng));
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
            t += runner.idle_check.draw(&mut rng);
            if queues.iter().all(Vec::is_empty) {
                break;
            }
            for (index, destination) in ORDER.iter().enumerate() {
                loop {
                    if queues[index].is_empty() {
                        t += runner.empty_receive[index].draw(&mut rng);
                        break;
                    }
                    t += runner.receive[index].draw(&mut rng);
                    let take = queues[index].len().min(10);
                    batches[index] += 1;
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
                    let shown = route(&stamped, routes, &mut owed[index], |queue, c| {
                        sent.push((queue, c))
                    });
                    if *destination == Destination::DecidedEvents {
                        for (c, shown) in stamped.iter().zip(shown) {
                            if let (Some(tim), Some(fred)) = (c.tim, c.fred) {
                                reached.push(BcgTimes {
                                    dec: c.dec,
                                    tim,
                                    fred,
                                    bcg: start,
                                    end,
                                    shown,
                                });
                            }
                        }
                    }
                    for (queue, c) in sent {
                        queues[queue].push(c);
                    }
                    t += runner.settle[index].draw(&mut rng);
                }
            }
        }
    }
    SerialRun {
        reached,
        batches,
        end_ms: t,
    }
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
            receive: std::array::from_fn(|_| Samples::fixed(2.0)),
            empty_receive: std::array::from_fn(|_| Samples::fixed(1.0)),
            idle_check: Samples::fixed(5.0),
            settle: std::array::from_fn(|_| Samples::fixed(0.0)),
        }
    }

    fn feed(records: usize) -> Feed {
        let mut sent = [0; 6];
        sent[0] = records;
        Feed {
            stage: Stage::Dec,
            records,
            sent,
            elapsed_ms: None,
        }
    }

    #[test]
    fn one_event_crosses_the_drain_in_order() {
        let shown = simulate_serial(&runner(), &[feed(1)], 1).shown();
        // DEC 0–11; idle check to 16; receive TIM to 18, TIM 18–38; empty receive to 39;
        // receive FRED to 41, FRED 41–71; empty to 72; unqualification empty to 73;
        // receive BCG to 75, BCG 75–115.
        assert_eq!(
            shown,
            vec![BcgTimes {
                dec: 0.0,
                tim: 18.0,
                fred: 41.0,
                bcg: 75.0,
                end: 115.0,
                shown: true
            }]
        );
    }

    #[test]
    fn a_batch_waits_for_every_batch_of_the_hop_before_it() {
        // 20 records: DEC 0–30; idle 35; TIM 37–57 and 59–79 (two batches of ten); empty 80;
        // FRED 82–112 and 114–144; empty 145; unqualification 146; BCG 148–188, 190–230.
        let shown = simulate_serial(&runner(), &[feed(20)], 1).shown();
        assert_eq!(shown.len(), 20);
        assert_eq!(shown[0].tim, 37.0);
        assert_eq!(shown[10].tim, 59.0);
        assert_eq!(shown[0].fred, 82.0);
        assert_eq!(shown[0].end, 188.0);
        assert_eq!(shown[19].end, 230.0);
    }

    #[test]
    fn a_measured_feed_and_a_measured_batch_size_are_played_as_measured() {
        let mut runner = runner();
        // TIM batches of one record took 7 ms when measured; other sizes keep the line.
        runner.queues[0].0.by_size.insert(1, vec![7.0]);
        let mut measured = feed(1);
        measured.elapsed_ms = Some(50.0);
        let shown = simulate_serial(&runner, &[measured], 1).shown();
        // DEC 0–50; idle to 55; receive to 57, TIM 57–64; empty to 65; receive to 67.
        assert_eq!(shown[0].tim, 57.0);
        assert_eq!(shown[0].fred, 67.0);
    }

    #[test]
    fn shares_send_on_an_exact_count() {
        let mut runner = runner();
        runner.queues[0].1 = routes(&[(Destination::RelevantEvents, 0.5)], 0.0);
        runner.queues[3].1 = routes(&[], 0.5);
        let run = simulate_serial(&runner, &[feed(10)], 1);
        assert_eq!(run.reached.len(), 5);
        assert_eq!(run.shown().len(), 2);
        assert_eq!(run.batches, [1, 1, 0, 1, 0, 0]);
    }
}
