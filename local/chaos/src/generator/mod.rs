//! The chaos run's input: a seeded, realistic stream of activities and customers coming and
//! going.
//!
//! Customers of two brands take part in promotions of their brand. Each customer's attempt at
//! a promotion is a journey: opt-in, progress (sometimes without progress), the award when a
//! reward's target is reached, then the reward spent or expired, a repeated award now and
//! then — or an unqualification on the way (EPPM in week one, CPP `UNQUALIFIED` later).
//! Sequences grow by one or more. Mixed in: Kafka redeliveries of earlier records (same
//! bytes), upstream replays (same activity under a new id), activities of unknown promotions,
//! malformed records, and customers going on and offline. Some promotions lack TIM's tag, some
//! rewards are of a type DES does not decide on, some expire during the run, and the run
//! crosses the cycle start day.
//!
//! Every record carries a `correlationid` header naming it; the [`Catalog`] maps it to the
//! activity's `(accountId, promoCode, attemptId, sequence)`, so what the customer saw can be
//! traced to its logical message without trusting the message ids.

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rewards_shared::envelope::format_timestamp;
use rewards_shared::model::{MessageType, Promotion};
use serde::Serialize;
use serde_json::json;

use scenario_runner::generated::{self, GeneratedSchemes};
use scenario_runner::scenario::ScenarioTemplate;

mod journeys;

use journeys::Generator;

/// The brands customers play on.
pub const BRANDS: [&str; 2] = ["skybet", "skyvegas"];
/// TIM's filter tag.
pub const TIM_TAG: &str = "tim";

/// Where a record's activity belongs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The customer.
    pub account_id: String,
    /// The promotion.
    pub promo_code: String,
    /// The attempt.
    pub attempt_id: String,
    /// The activity's sequence (0 for EPPM).
    pub sequence: u64,
}

/// Correlation id (the record's `correlationid` header) → the activity it names.
pub type Catalog = HashMap<String, Origin>;

/// One Kafka record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The value.
    pub value: Vec<u8>,
    /// The `correlationid` header.
    pub correlation_id: String,
}

/// One step of the run.
#[derive(Debug, Clone, PartialEq)]
pub enum ChaosStep {
    /// A batch of activities, at a time: one MSK event per topic, then the pipeline drains.
    Activities {
        /// The clock for this batch.
        at: DateTime<Utc>,
        /// Records for the CPP topic.
        cpp: Vec<Record>,
        /// Records for the EPPM topic.
        eppm: Vec<Record>,
    },
    /// The customer comes online (OSG answers 200; MSQ resends).
    Online {
        /// The customer.
        account_id: String,
        /// Their brand.
        brand: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The customer goes offline (OSG answers 404).
    Offline {
        /// The customer.
        account_id: String,
    },
}

/// What the generator put in, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mix {
    /// `OPTED_IN` activities.
    pub opt_ins: u64,
    /// `IN_PROGRESS` activities that progressed.
    pub progress: u64,
    /// `IN_PROGRESS` activities without progress.
    pub no_progress: u64,
    /// `REWARD_AWARDED` activities (repeats included).
    pub awards: u64,
    /// `REWARD_SPENT` activities.
    pub spent: u64,
    /// `EXPIRED` activities.
    pub expired: u64,
    /// CPP `UNQUALIFIED` activities.
    pub unqualified_cpp: u64,
    /// EPPM week-one unqualifications.
    pub unqualified_eppm: u64,
    /// Kafka redeliveries of an earlier record.
    pub redelivered: u64,
    /// The same activity replayed under a new id.
    pub replayed: u64,
    /// Activities of a promotion PPH does not know.
    pub unknown_promotion: u64,
    /// Records that are not valid activities.
    pub malformed: u64,
    /// Customers coming online.
    pub online: u64,
    /// Customers going offline.
    pub offline: u64,
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// Account id.
    pub account_id: String,
    /// Brand.
    pub brand: String,
    /// Locale, if known.
    pub locale: Option<String>,
}

/// Everything the run needs, generated from a seed.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The clock at the start.
    pub start: DateTime<Utc>,
    /// The clock at the end.
    pub end: DateTime<Utc>,
    /// PPH's promotions.
    pub promotions: Vec<Promotion>,
    /// CSL's templates.
    pub templates: Vec<ScenarioTemplate>,
    /// The customers.
    pub customers: Vec<Customer>,
    /// Who is online at the start.
    pub online: Vec<String>,
    /// The steps.
    pub steps: Vec<ChaosStep>,
    /// Correlation ids of the records.
    pub catalog: Catalog,
    /// How many events (records and on/offline switches) the steps hold.
    pub events: usize,
    /// The mix.
    pub mix: Mix,
}

/// The first day of the run: a Friday, so the run crosses Monday (the cycle start day).
fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-13T08:00:00Z")
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_default()
}

/// How long the run's clock runs.
const SPAN_HOURS: i64 = 96;

/// Generates `events` events from `seed`.
pub fn generate(events: usize, seed: u64) -> Generated {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let start = start();
    let end = start + Duration::hours(SPAN_HOURS);
    let promotions = promotions(&mut rng, start, end);
    let customer_count = (events / 40).clamp(200, 5000);
    let customers: Vec<Customer> = (0..customer_count)
        .map(|i| Customer {
            account_id: format!("{}", 10_000_000 + i),
            brand: BRANDS[i % BRANDS.len()].to_owned(),
            locale: match rng.random_range(0..20) {
                0..=16 => Some("en-GB".to_owned()),
                17 | 18 => Some("de-DE".to_owned()),
                _ => None,
            },
        })
        .collect();
    let online: Vec<bool> = customers.iter().map(|_| rng.random_bool(0.6)).collect();
    let mut generator = Generator {
        rng,
        promotions,
        customers,
        online: online.clone(),
        journeys: Vec::new(),
        attempts: HashMap::new(),
        recent: VecDeque::new(),
        catalog: HashMap::new(),
        mix: Mix::default(),
        next_record: 0,
    };
    let pool = (customer_count / 4).max(8);
    let mut steps = Vec::new();
    let mut produced = 0;
    while produced < events {
        let at = start + Duration::seconds(SPAN_HOURS * 3600 * produced as i64 / events as i64);
        if generator.rng.random_bool(0.03) {
            steps.push(generator.switch(at));
            produced += 1;
            continue;
        }
        let size = generator.rng.random_range(1..=40).min(events - produced);
        let mut cpp = Vec::new();
        let mut eppm = Vec::new();
        for _ in 0..size {
            while generator.journeys.len() < pool {
                generator.start_journey();
            }
            let (record, is_eppm) = generator.next_record(at);
            if is_eppm {
                eppm.push(record);
            } else {
                cpp.push(record);
            }
        }
        produced += size;
        steps.push(ChaosStep::Activities { at, cpp, eppm });
    }
    let Generator {
        promotions,
        customers,
        catalog,
        mix,
        ..
    } = generator;
    Generated {
        start,
        end,
        templates: templates(),
        online: customers
            .iter()
            .zip(&online)
            .filter(|(_, online)| **online)
            .map(|(customer, _)| customer.account_id.clone())
            .collect(),
        promotions,
        customers,
        steps,
        catalog,
        events,
        mix,
    }
}

const ACTIVITY_TYPES: [&str; 4] = ["FREE_SPINS", "FREE_BET", "GAMING_BONUS", "CASHBACK"];

fn promotions(rng: &mut ChaCha8Rng, start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Promotion> {
    (0..24)
        .map(|i| {
            let brand = BRANDS[i % BRANDS.len()];
            let expires = if rng.random_bool(0.2) {
                // Expires during the run: its late messages are dropped or not resent.
                start + (end - start) * rng.random_range(3..9) / 10
            } else {
                end + Duration::days(30)
            };
            let schemes = rng.random_range(1..=3);
            let mut tags = vec!["weekly".to_owned()];
            if rng.random_bool(0.85) {
                tags.push(TIM_TAG.to_owned());
            }
            let schemes = (0..schemes)
                .map(|_| {
                    let kind = ACTIVITY_TYPES[rng.random_range(0..ACTIVITY_TYPES.len())];
                    (kind, rng.random_range(3..=8_u64))
                })
                .collect();
            let schemes = GeneratedSchemes {
                schemes,
                reward: "a reward",
                expires,
            };
            generated::promotion(i, 2, brand, tags, schemes)
        })
        .collect()
}

fn templates() -> Vec<ScenarioTemplate> {
    let mut templates = Vec::new();
    for brand in BRANDS {
        for message_type in MessageType::ALL {
            templates.push(ScenarioTemplate {
                brand: brand.to_owned(),
                message_type,
                locale: "en-GB".to_owned(),
                title: format!("{message_type} in {{{{promoName}}}}"),
                body: "{{current}} of {{target}} {{rewardType}} until {{expirationDate}}"
                    .to_owned(),
            });
        }
    }
    templates
}

/// The distinct records of the run (for tests): correlation ids seen in the steps.
pub fn correlation_ids(steps: &[ChaosStep]) -> HashSet<String> {
    steps
        .iter()
        .flat_map(|step| match step {
            ChaosStep::Activities { cpp, eppm, .. } => cpp
                .iter()
                .chain(eppm)
                .map(|r| r.correlation_id.clone())
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_run() {
        let a = generate(500, 9);
        let b = generate(500, 9);
        assert_eq!(a.steps, b.steps);
        assert_eq!(a.mix, b.mix);
        assert_ne!(generate(500, 10).steps, a.steps);
    }

    #[test]
    fn the_mix_holds_every_kind_and_every_record_is_catalogued() {
        let generated = generate(5000, 1);
        let mix = generated.mix;
        for (kind, count) in [
            ("opt-ins", mix.opt_ins),
            ("progress", mix.progress),
            ("no progress", mix.no_progress),
            ("awards", mix.awards),
            ("spent", mix.spent),
            ("expired", mix.expired),
            ("unqualified cpp", mix.unqualified_cpp),
            ("unqualified eppm", mix.unqualified_eppm),
            ("redelivered", mix.redelivered),
            ("replayed", mix.replayed),
            ("unknown promotion", mix.unknown_promotion),
            ("malformed", mix.malformed),
            ("online", mix.online),
            ("offline", mix.offline),
        ] {
            assert!(count > 0, "no {kind} in {mix:?}");
        }
        let ids = correlation_ids(&generated.steps);
        let uncatalogued = ids
            .iter()
            .filter(|id| !generated.catalog.contains_key(*id))
            .count();
        assert_eq!(
            uncatalogued as u64,
            mix.unknown_promotion + mix.malformed,
            "only records without an activity are not catalogued"
        );
        let records: usize = generated
            .steps
            .iter()
            .map(|step| match step {
                ChaosStep::Activities { cpp, eppm, .. } => cpp.len() + eppm.len(),
                _ => 1,
            })
            .sum();
        assert_eq!(records, 5000);
    }
}
