//! The whole chain of hops, origin to OSG, simulated at one rate and setting.

use super::*;

/// The CPP path's handler times and pass-on shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// DEC, TIM, FRED, BCG: handler time and the share of its records that go on.
    pub stages: [(Stage, HandlerTime, f64); 4],
    /// DES's CPU per event it decides, ms (FRED waits for it within [`PartnerLatencies::des_ms`]).
    pub des_cpu_ms: f64,
    /// DynamoDB cost per million events (from the run against moto, or TIM's one write per event).
    pub dynamodb_per_million: f64,
    /// Requests to the standard queues (off the modelled path) per million events, in dollars.
    pub standard_sqs_per_million: f64,
}

/// The SQS FIFO price per request.
pub const FIFO_REQUEST: f64 = 0.50 / 1e6;

/// Runs the chain at `rate` events/s for `events` events.
pub fn simulate(
    chain: &Chain,
    settings: &Settings,
    partners: &PartnerLatencies,
    rate: f64,
    events: usize,
    seed: u64,
) -> Outcome {
    let mut rng = Rng::new(seed ^ rate.to_bits());
    let mut t = 0.0;
    let origins: Vec<Message> = (0..events)
        .map(|_| {
            t += rng.exponential(1000.0 / rate);
            Message {
                at: t,
                // The TIM key's hash: 50,000 customer-promotion attempts in play.
                group: rng.next_u64() % 50_000,
            }
        })
        .collect();
    let sources = [
        EventSource {
            kind: SourceKind::Msk {
                partitions: MSK_PARTITIONS,
            },
            batch_size: settings.msk_batch,
            window_ms: settings.msk_window_ms,
            max_concurrency: MSK_PARTITIONS as usize,
        },
        EventSource {
            kind: SourceKind::Fifo,
            batch_size: settings.fifo_batch,
            window_ms: 0.0,
            max_concurrency: settings.max_concurrency,
        },
        EventSource {
            kind: SourceKind::Fifo,
            batch_size: settings.fifo_batch,
            window_ms: 0.0,
            max_concurrency: settings.max_concurrency,
        },
        EventSource {
            kind: SourceKind::Fifo,
            batch_size: settings.fifo_batch,
            window_ms: 0.0,
            max_concurrency: settings.max_concurrency,
        },
    ];
    // (origin index, arrival) of the messages at the current hop.
    let mut current: Vec<(usize, Message)> = origins
        .iter()
        .enumerate()
        .map(|(i, m)| {
            (
                i,
                Message {
                    at: m.at + partners.msk_delivery_ms,
                    group: m.group,
                },
            )
        })
        .collect();
    let mut outcome = Outcome {
        rate,
        ..Outcome::default()
    };
    let mut busy_ms = 0.0;
    let mut fifo_requests = 0.0;
    for (hop, ((stage, handler, pass), source)) in chain.stages.iter().zip(&sources).enumerate() {
        let mut handler = *handler;
        if *stage == Stage::Fred {
            handler.wait_ms += partners.des_ms;
        }
        if *stage == Stage::Bcg {
            handler.wait_ms += partners.osg_ms;
        }
        let messages: Vec<Message> = current.iter().map(|(_, m)| *m).collect();
        let run = run_hop(&messages, source, &handler, partners.spread, &mut rng);
        let invocations = run.batches.len() as f64;
        busy_ms += run.busy_ms;
        let slot = match stage {
            Stage::Dec => 0,
            Stage::Tim => 1,
            Stage::Fred => 2,
            _ => 4,
        };
        outcome.invocations_per_event[slot] = invocations / events as f64;
        if *stage == Stage::Fred {
            // One DES request per FRED batch; DES's own time is billed too.
            outcome.invocations_per_event[3] = invocations / events as f64;
            busy_ms += invocations + chain.des_cpu_ms * messages.len() as f64;
        }
        if source.kind == SourceKind::Fifo {
            // Receive and delete: one call per ten messages of each batch.
            let calls: f64 = run.batches.iter().map(|n| n.div_ceil(10) as f64).sum();
            fifo_requests += 2.0 * calls;
        }
        // Who goes on: a seeded share of each batch's records.
        let mut next: Vec<(usize, Message)> = Vec::new();
        let mut out_per_batch = vec![0usize; run.batches.len()];
        for (k, (origin, m)) in current.iter().enumerate() {
            if rng.unit() <= *pass {
                out_per_batch[run.batch_of[k]] += 1;
                next.push((
                    *origin,
                    Message {
                        at: run.done[k] + partners.sqs_delivery_ms,
                        group: m.group,
                    },
                ));
            }
        }
        if hop + 1 < sources.len() && sources[hop + 1].kind == SourceKind::Fifo {
            // Sends: one `SendMessageBatch` per ten messages a batch sends on.
            fifo_requests += out_per_batch
                .iter()
                .map(|n| n.div_ceil(10) as f64)
                .sum::<f64>();
        }
        if hop + 1 == sources.len() {
            let mut latencies: Vec<f64> = next
                .iter()
                .map(|(origin, m)| m.at - partners.sqs_delivery_ms - origins[*origin].at)
                .collect();
            latencies.sort_by(f64::total_cmp);
            outcome.delivered = latencies.len();
            outcome.p50_ms = percentile(&latencies, 0.50);
            outcome.p99_ms = percentile(&latencies, 0.99);
        }
        next.sort_by(|a, b| a.1.at.total_cmp(&b.1.at));
        current = next;
    }
    outcome.fifo_requests_per_event = fifo_requests / events as f64;
    outcome.gb_seconds_per_event = busy_ms / 1000.0 * crate::cost::MEMORY_GB / events as f64;
    let prices = crate::cost::PRICES;
    let requests: f64 = outcome.invocations_per_event.iter().sum();
    outcome.cost_per_million = (requests * prices.lambda_request
        + outcome.gb_seconds_per_event * prices.lambda_arm64_gb_second
        + outcome.fifo_requests_per_event * FIFO_REQUEST)
        * 1e6
        + chain.dynamodb_per_million
        + chain.standard_sqs_per_million;
    outcome
}
