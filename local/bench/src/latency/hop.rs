//! One hop of the model: an event source mapping in front of a function, batching and delivering messages.

use super::*;

/// A message at a hop: when it arrived and its group (FIFO group or MSK partition key).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Message {
    /// Arrival, ms.
    pub at: f64,
    /// Group key.
    pub group: u64,
}

/// What one hop did: each message's completion time (the end of its batch) and the batches.
#[derive(Debug, Clone, Default)]
pub struct HopRun {
    /// Per message, in input order.
    pub done: Vec<f64>,
    /// Batch sizes.
    pub batches: Vec<usize>,
    /// Per message, the index of its batch in `batches`.
    pub batch_of: Vec<usize>,
    /// Handler time, summed, ms.
    pub busy_ms: f64,
}

/// Runs one hop: `messages` sorted by arrival.
pub fn run_hop(
    messages: &[Message],
    source: &EventSource,
    handler: &HandlerTime,
    spread: f64,
    rng: &mut Rng,
) -> HopRun {
    match source.kind {
        SourceKind::Msk { partitions } => {
            let partitions = u64::from(partitions.max(1));
            let mut run = HopRun {
                done: vec![0.0; messages.len()],
                batch_of: vec![0; messages.len()],
                ..HopRun::default()
            };
            for partition in 0..partitions {
                let indices: Vec<usize> = (0..messages.len())
                    .filter(|i| messages[*i].group % partitions == partition)
                    .collect();
                let part: Vec<Message> = indices.iter().map(|i| messages[*i]).collect();
                let single = EventSource {
                    kind: SourceKind::Standard,
                    max_concurrency: 1,
                    ..*source
                };
                let sub = run_queue(&part, &single, false, handler, spread, rng);
                let offset = run.batches.len();
                for (k, i) in indices.iter().enumerate() {
                    run.done[*i] = sub.done[k];
                    run.batch_of[*i] = offset + sub.batch_of[k];
                }
                run.batches.extend(sub.batches);
                run.busy_ms += sub.busy_ms;
            }
            run
        }
        SourceKind::Fifo => run_queue(messages, source, true, handler, spread, rng),
        SourceKind::Standard => run_queue(messages, source, false, handler, spread, rng),
    }
}

/// How far into the queue a FIFO poller looks for a group that is free.
const FIFO_SCAN: usize = 2_000;

fn run_queue(
    messages: &[Message],
    source: &EventSource,
    fifo: bool,
    handler: &HandlerTime,
    spread: f64,
    rng: &mut Rng,
) -> HopRun {
    let mut run = HopRun {
        done: vec![0.0; messages.len()],
        batch_of: vec![0; messages.len()],
        ..HopRun::default()
    };
    // FIFO sources, and any source without a window, take at most ten (one `ReceiveMessage`).
    let limit = if fifo || source.window_ms <= 0.0 {
        source.batch_size.clamp(1, 10)
    } else {
        source.batch_size.max(1)
    };
    let mut free = vec![0.0f64; source.max_concurrency.max(1)];
    let mut group_free: HashMap<u64, f64> = HashMap::new();
    let mut unclaimed: VecDeque<usize> = (0..messages.len()).collect();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut blocked: HashSet<u64> = HashSet::new();
    while !unclaimed.is_empty() {
        let (worker, t) =
            free.iter()
                .copied()
                .enumerate()
                .fold(
                    (0, f64::INFINITY),
                    |best, (i, at)| if at < best.1 { (i, at) } else { best },
                );
        let eligible = |i: usize, group_free: &HashMap<u64, f64>| {
            let m = messages[i];
            if fifo {
                m.at.max(group_free.get(&m.group).copied().unwrap_or(0.0))
            } else {
                m.at
            }
        };
        // The first moment some message can be taken.
        let start = if fifo {
            let mut earliest = f64::INFINITY;
            seen.clear();
            for &i in unclaimed.iter().take(FIFO_SCAN) {
                if messages[i].at >= earliest {
                    // Sorted by arrival: nothing further on is eligible sooner.
                    break;
                }
                if !seen.insert(messages[i].group) {
                    continue;
                }
                earliest = earliest.min(eligible(i, &group_free));
                if earliest <= t {
                    break;
                }
            }
            earliest.max(t)
        } else {
            messages[unclaimed[0]].at.max(t)
        };
        let close = if !fifo && source.window_ms > 0.0 {
            // Gather until the window ends or the batch is full.
            let deadline = start + source.window_ms;
            match unclaimed.get(limit - 1) {
                Some(&i) if messages[i].at <= deadline => messages[i].at.max(start),
                _ => deadline,
            }
        } else {
            start
        };
        let mut batch: Vec<usize> = Vec::with_capacity(limit);
        blocked.clear();
        let mut position = 0;
        while position < unclaimed.len() && batch.len() < limit {
            let i = unclaimed[position];
            if messages[i].at > close {
                break;
            }
            let group = messages[i].group;
            let takeable =
                !fifo || (!blocked.contains(&group) && eligible(i, &group_free) <= close);
            if takeable {
                batch.push(i);
                let _ = unclaimed.remove(position);
            } else {
                if fifo {
                    blocked.insert(group);
                }
                position += 1;
                if fifo && position >= FIFO_SCAN {
                    break;
                }
            }
        }
        if batch.is_empty() {
            // Nothing could be taken at `close` (FIFO groups busy): wait for the next one free.
            free[worker] = close + 1.0;
            continue;
        }
        let wait = rng.lognormal(handler.wait_ms, spread);
        let busy = wait + handler.cpu_ms * batch.len() as f64;
        let end = close + busy;
        for &i in &batch {
            run.done[i] = end;
            run.batch_of[i] = run.batches.len();
            if fifo {
                group_free.insert(messages[i].group, end);
            }
        }
        run.batches.push(batch.len());
        run.busy_ms += busy;
        free[worker] = end;
    }
    run
}
