//! A generated, realistic event mix for the benchmarks, the same for every run of a seed.
//!
//! Many customers and promotions; each customer's journey through a promotion attempt is a
//! run of CPP activities in sequence order (opt-in, progress, an award, sometimes the reward
//! spent, an unqualification or an expiry), and journeys are interleaved the way a Kafka
//! topic carries many customers at once. Mixed in: duplicates (the same record again, as a
//! producer retry or a redelivery would send it), progress that does not move, EPPM week-one
//! unqualifications, promotions TIM filters out, reward types DES has no decision for, expired
//! rewards, customers whose locale falls back to the default, and customers who are offline
//! (OSG answers 404, MSQ keeps their messages) and come online later (MSQ resends).
//!
//! The chaos run (`rewards chaos`) has its own seeded generator for fault scenarios; this one
//! is tuned for a steady, production-like mix and was written before that one landed, so the
//! two are separate (duplication noted in the README's performance section).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use rewards_shared::model::{MessageType, Promotion};
use serde_json::json;

use scenario_runner::generated::{self, GeneratedSchemes};
use scenario_runner::scenario::{Scenario, ScenarioConfig, ScenarioTemplate};

pub use crate::rng::Rng;

/// The brands of the mix.
pub const BRANDS: [&str; 2] = ["skybet", "skyvegas"];

/// The clock of the mix: a Wednesday, so awards are not held back by the cycle rule.
pub const NOW: &str = "2026-11-18T10:00:00.000Z";

/// One thing fed to the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A CPP activity record value (DEC's CPP topic).
    Cpp(Vec<u8>),
    /// An EPPM week-one unqualification record value (DEC's EPPM topic).
    Eppm(Vec<u8>),
    /// A customer-online record value (MSQ's online topic); OSG answers 200 for them from now.
    Online {
        /// The customer.
        account_id: String,
        /// The record value.
        value: Vec<u8>,
    },
    /// OSG answers 404 for this customer from now (not a record).
    Offline(String),
}

impl Input {
    /// True for a Kafka record (everything but [`Input::Offline`]).
    pub fn is_record(&self) -> bool {
        !matches!(self, Input::Offline(_))
    }
}

/// How many of each kind of record the mix holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Composition {
    /// CPP activities (duplicates included).
    pub cpp: usize,
    /// Of which exact duplicates of an earlier record.
    pub duplicates: usize,
    /// Of which `IN_PROGRESS` without progress.
    pub no_progress: usize,
    /// Of which `REWARD_AWARDED`.
    pub awards: usize,
    /// Of which `REWARD_SPENT`.
    pub spent: usize,
    /// Of which `UNQUALIFIED`.
    pub unqualified: usize,
    /// Of which for promotions TIM filters out.
    pub filtered_promotions: usize,
    /// EPPM unqualifications.
    pub eppm: usize,
    /// Customer-online events.
    pub online: usize,
    /// Customers.
    pub customers: usize,
    /// Customers offline at the start.
    pub offline_at_start: usize,
    /// Promotions.
    pub promotions: usize,
}

/// The generated mix: the stand-ins' data (as a scenario without steps) and the inputs.
#[derive(Debug, Clone)]
pub struct Mix {
    /// Promotions, templates, who is onsite at the start, the clock and the settings.
    pub scenario: Scenario,
    /// The inputs in order.
    pub inputs: Vec<Input>,
    /// What the inputs are.
    pub composition: Composition,
}

impl Mix {
    /// Kafka records in the mix: the events the per-event figures divide by.
    pub fn records(&self) -> usize {
        self.inputs.iter().filter(|input| input.is_record()).count()
    }
}

/// Reward types: three DES decides on, one it does not.
const REWARD_TYPES: [&str; 4] = ["FREE_SPINS", "FREE_BET", "GAMING_BONUS", "CASHBACK"];

fn promotions(rng: &mut Rng, now: DateTime<Utc>, count: usize) -> Vec<Promotion> {
    (0..count)
        .map(|i| {
            let brand = BRANDS[i % BRANDS.len()];
            // One promotion in six is not TIM's; one in ten has expired rewards.
            let mut tags = vec!["weekly".to_owned()];
            if i % 6 != 5 {
                tags.insert(0, "tim".to_owned());
            }
            let expiry = if i % 10 == 9 {
                now - Duration::days(1)
            } else {
                now + Duration::days(5 + (i % 7) as i64)
            };
            let schemes = (0..1 + rng.below(2))
                .map(|_| {
                    let reward_type = if rng.chance(0.1) {
                        REWARD_TYPES[3]
                    } else {
                        REWARD_TYPES[rng.below(3)]
                    };
                    (reward_type, 3 + rng.below(6) as u64)
                })
                .collect();
            let schemes = GeneratedSchemes {
                schemes,
                reward: "10 free spins",
                expires: expiry,
            };
            generated::promotion(i, 3, brand, tags, schemes)
        })
        .collect()
}

fn templates() -> Vec<ScenarioTemplate> {
    let texts = [
        (
            MessageType::OptIn,
            "You're in!",
            "Play {{target}} times in {{promoName}} to unlock your reward",
        ),
        (
            MessageType::Progress,
            "Keep going!",
            "{{current}} of {{target}} done in {{promoName}}",
        ),
        (
            MessageType::RewardAwarded,
            "Reward unlocked",
            "Your {{rewardType}} from {{promoName}} is ready until {{expirationDate}}",
        ),
        (
            MessageType::Unqualification,
            "Not this time",
            "You no longer qualify for {{promoName}} this week",
        ),
    ];
    BRANDS
        .iter()
        .flat_map(|brand| {
            texts
                .iter()
                .map(move |(message_type, title, body)| ScenarioTemplate {
                    brand: (*brand).to_owned(),
                    message_type: *message_type,
                    locale: "en-GB".to_owned(),
                    title: (*title).to_owned(),
                    body: (*body).to_owned(),
                })
        })
        .collect()
}

/// One customer's attempt at one promotion, emitting its activities in sequence order.
struct Journey {
    account: usize,
    promotion: usize,
    attempt: String,
    sequence: u64,
    current: u64,
    target: u64,
    stage: JourneyStage,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum JourneyStage {
    OptIn,
    Progress,
    Awarded,
    Done,
}

/// Generates a mix of about `events` records from `seed`.
pub fn generate(events: usize, seed: u64) -> Mix {
    let mut rng = Rng::new(seed);
    let now: DateTime<Utc> = NOW.parse().unwrap_or_default();
    let customers = (events / 20).max(10);
    let promotion_count = 24;
    let promotions = promotions(&mut rng, now, promotion_count);
    let locales = ["en-GB", "en-GB", "en-GB", "en-IE", "de-DE"];
    let account_id = |n: usize| format!("{}", 10_000_000 + n);
    let offline: BTreeSet<usize> = (0..customers).filter(|n| n % 10 < 3).collect();
    let mut composition = Composition {
        customers,
        offline_at_start: offline.len(),
        promotions: promotion_count,
        ..Composition::default()
    };
    let mut currently_offline = offline.clone();
    let onsite: Vec<String> = (0..customers)
        .filter(|n| !offline.contains(n))
        .map(account_id)
        .collect();

    let mut inputs: Vec<Input> = Vec::with_capacity(events + events / 10);
    let mut sent: Vec<usize> = Vec::new(); // indexes of CPP inputs, for duplicates
    let mut journeys: Vec<Journey> = Vec::new();
    let active = (customers / 4).clamp(4, 2_000);
    let mut records = 0;
    let mut attempt_counter = 0u64;
    while records < events {
        while journeys.len() < active {
            attempt_counter += 1;
            let promotion = rng.below(promotion_count);
            let target = promotions[promotion]
                .reward_schemes
                .first()
                .and_then(|scheme| scheme.tier_definition.first_threshold())
                .unwrap_or(5);
            journeys.push(Journey {
                account: rng.below(customers),
                promotion,
                attempt: format!("2026-W47-{attempt_counter}"),
                sequence: 0,
                current: 0,
                target,
                stage: JourneyStage::OptIn,
            });
        }
        let roll = rng.below(1000);
        let occurred = now - Duration::milliseconds((events - records) as i64);
        if roll < 5 && !currently_offline.is_empty() {
            // A customer comes online (MSQ resends what it kept).
            let pick = rng.below(currently_offline.len());
            if let Some(&account) = currently_offline.iter().nth(pick) {
                currently_offline.remove(&account);
                let id = account_id(account);
                let brand = BRANDS[account % BRANDS.len()];
                let value = json!({"accountId": id, "brand": brand,
                    "onlineAt": rewards_shared::envelope::format_timestamp(occurred)});
                inputs.push(Input::Online {
                    account_id: id,
                    value: value.to_string().into_bytes(),
                });
                composition.online += 1;
                records += 1;
            }
            continue;
        }
        if roll < 8 {
            // A customer leaves the site.
            let account = rng.below(customers);
            if currently_offline.insert(account) {
                inputs.push(Input::Offline(account_id(account)));
            }
            continue;
        }
        if roll < 58 && !sent.is_empty() {
            // A duplicate of a recent record (a producer retry or a redelivery).
            let back = rng.below(sent.len().min(500)) + 1;
            let index = sent[sent.len() - back];
            let copy = inputs[index].clone();
            inputs.push(copy);
            composition.cpp += 1;
            composition.duplicates += 1;
            records += 1;
            continue;
        }
        let slot = rng.below(journeys.len());
        let journey = &mut journeys[slot];
        let promotion = &promotions[journey.promotion];
        let id = account_id(journey.account);
        let locale = locales[journey.account % locales.len()];
        if roll < 70 && journey.stage != JourneyStage::Done {
            // A week-one unqualification from EPPM ends the journey.
            let value = json!({"eventId": rng.uuid(), "accountId": id,
                "brand": promotion.brand, "promoCode": promotion.promo_code,
                "attemptId": journey.attempt, "week": 1, "reason": "NO_QUALIFYING_BET",
                "occurredAt": rewards_shared::envelope::format_timestamp(occurred),
                "locale": locale});
            inputs.push(Input::Eppm(value.to_string().into_bytes()));
            composition.eppm += 1;
            records += 1;
            journey.stage = JourneyStage::Done;
            journeys.swap_remove(slot);
            continue;
        }
        journey.sequence += 1;
        let (status, next) = match journey.stage {
            JourneyStage::OptIn => ("OPTED_IN", JourneyStage::Progress),
            JourneyStage::Progress => {
                if rng.chance(0.04) {
                    composition.unqualified += 1;
                    ("UNQUALIFIED", JourneyStage::Done)
                } else if rng.chance(0.02) {
                    ("EXPIRED", JourneyStage::Done)
                } else if journey.current + 1 >= journey.target {
                    journey.current = journey.target;
                    composition.awards += 1;
                    ("REWARD_AWARDED", JourneyStage::Awarded)
                } else {
                    if rng.chance(0.05) {
                        composition.no_progress += 1;
                    } else {
                        journey.current += 1;
                    }
                    ("IN_PROGRESS", JourneyStage::Progress)
                }
            }
            JourneyStage::Awarded => {
                composition.spent += 1;
                ("REWARD_SPENT", JourneyStage::Done)
            }
            JourneyStage::Done => ("EXPIRED", JourneyStage::Done),
        };
        let progress: Vec<_> = promotion
            .reward_schemes
            .iter()
            .map(|scheme| {
                let target = scheme
                    .tier_definition
                    .first_threshold()
                    .unwrap_or(journey.target);
                json!({"rewardSchemeId": scheme.reward_scheme_id,
                    "activityType": scheme.reward_type,
                    "current": journey.current.min(target), "target": target, "status": status})
            })
            .collect();
        let value = json!({"activityId": rng.uuid(), "accountId": id, "brand": promotion.brand,
            "promoCode": promotion.promo_code, "attemptId": journey.attempt,
            "sequence": journey.sequence, "status": status,
            "occurredAt": rewards_shared::envelope::format_timestamp(occurred),
            "locale": locale, "rewardProgress": progress});
        if !promotion.tags.iter().any(|tag| tag == "tim") {
            composition.filtered_promotions += 1;
        }
        sent.push(inputs.len());
        inputs.push(Input::Cpp(value.to_string().into_bytes()));
        composition.cpp += 1;
        records += 1;
        journey.stage = next;
        if next == JourneyStage::Done || (next == JourneyStage::Awarded && rng.chance(0.5)) {
            journeys.swap_remove(slot);
        }
    }
    Mix {
        scenario: Scenario {
            file: "bench-mix".into(),
            now,
            config: ScenarioConfig::default(),
            promotions,
            templates: templates(),
            onsite,
            steps: Vec::new(),
        },
        inputs,
        composition,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mix_with_every_kind_of_record() {
        let a = generate(3_000, 7);
        let b = generate(3_000, 7);
        assert_eq!(a.inputs, b.inputs);
        assert_eq!(a.records(), 3_000);
        let c = &a.composition;
        assert!(c.duplicates > 0 && c.awards > 0 && c.spent > 0 && c.eppm > 0);
        assert!(c.online > 0 && c.unqualified > 0 && c.no_progress > 0);
        assert!(c.filtered_promotions > 0 && c.offline_at_start > 0);
        assert_ne!(generate(3_000, 8).inputs, a.inputs);
    }
}
