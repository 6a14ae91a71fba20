//! Customers' journeys through promotions, step by step: the generator's state and moves.

use super::*;

/// Phase of a journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Fresh,
    Progressing,
    Awarded,
}

/// One customer's attempt at one promotion.
#[derive(Debug, Clone)]
pub(super) struct Journey {
    customer: usize,
    promotion: usize,
    attempt_id: String,
    week: u32,
    sequence: u64,
    current: Vec<u64>,
    phase: Phase,
}

/// The generator's state while it writes the steps.
pub(super) struct Generator {
    pub(super) rng: ChaCha8Rng,
    pub(super) promotions: Vec<Promotion>,
    pub(super) customers: Vec<Customer>,
    pub(super) online: Vec<bool>,
    pub(super) journeys: Vec<Journey>,
    pub(super) attempts: HashMap<(usize, usize), u32>,
    pub(super) recent: VecDeque<(Record, bool)>,
    pub(super) catalog: Catalog,
    pub(super) mix: Mix,
    pub(super) next_record: u64,
}

impl Generator {
    pub(super) fn start_journey(&mut self) {
        let customer = self.rng.random_range(0..self.customers.len());
        let brand = &self.customers[customer].brand;
        let candidates: Vec<usize> = (0..self.promotions.len())
            .filter(|p| &self.promotions[*p].brand == brand)
            .collect();
        let promotion = candidates[self.rng.random_range(0..candidates.len())];
        // One journey per (customer, promotion) at a time: a new attempt starts after the
        // last one ended.
        if self
            .journeys
            .iter()
            .any(|j| j.customer == customer && j.promotion == promotion)
        {
            return;
        }
        let attempt = self.attempts.entry((customer, promotion)).or_insert(0);
        *attempt += 1;
        let schemes = self.promotions[promotion].reward_schemes.len();
        self.journeys.push(Journey {
            customer,
            promotion,
            attempt_id: format!("2026-W{}", 45 + *attempt),
            week: if *attempt % 2 == 1 { 1 } else { 2 },
            sequence: 0,
            current: vec![0; schemes],
            phase: Phase::Fresh,
        });
    }

    pub(super) fn correlation(&mut self) -> String {
        self.next_record += 1;
        format!("chaos-{:07}", self.next_record)
    }

    /// The next record: a redelivery, a replay, a bad one, or a journey's next activity.
    pub(super) fn next_record(&mut self, at: DateTime<Utc>) -> (Record, bool) {
        let roll = self.rng.random_range(0..1000);
        if roll < 30 && !self.recent.is_empty() {
            self.mix.redelivered += 1;
            let index = self.rng.random_range(0..self.recent.len());
            return self.recent[index].clone();
        }
        if roll < 40 {
            if let Some(replay) = self.replay() {
                return replay;
            }
        }
        if roll < 43 {
            return (self.unknown_promotion(at), false);
        }
        if roll < 45 {
            return (self.malformed(), false);
        }
        let index = self.rng.random_range(0..self.journeys.len());
        let record = self.advance(index, at);
        self.recent.push_back(record.clone());
        if self.recent.len() > 400 {
            self.recent.pop_front();
        }
        record
    }

    /// A recent CPP activity again under a new activity id and correlation id.
    pub(super) fn replay(&mut self) -> Option<(Record, bool)> {
        let index = self.rng.random_range(0..self.recent.len().max(1));
        let (record, is_eppm) = self.recent.get(index)?.clone();
        if is_eppm {
            return None;
        }
        let mut value: serde_json::Value = serde_json::from_slice(&record.value).ok()?;
        let origin = self.catalog.get(&record.correlation_id)?.clone();
        let correlation_id = self.correlation();
        value["activityId"] = json!(format!("replay-{correlation_id}"));
        self.catalog.insert(correlation_id.clone(), origin);
        self.mix.replayed += 1;
        Some((
            Record {
                value: value.to_string().into_bytes(),
                correlation_id,
            },
            false,
        ))
    }

    pub(super) fn unknown_promotion(&mut self, at: DateTime<Utc>) -> Record {
        self.mix.unknown_promotion += 1;
        let correlation_id = self.correlation();
        let value = json!({
            "activityId": format!("act-{correlation_id}"), "accountId": "10000000",
            "brand": "skybet", "promoCode": "NO-SUCH-PROMO", "attemptId": "2026-W46",
            "sequence": 1, "status": "OPTED_IN", "occurredAt": format_timestamp(at)
        });
        Record {
            value: value.to_string().into_bytes(),
            correlation_id,
        }
    }

    pub(super) fn malformed(&mut self) -> Record {
        self.mix.malformed += 1;
        let correlation_id = self.correlation();
        let value: &[u8] = match self.rng.random_range(0..4) {
            0 => b"{\"activityId\": \"a\", \"accountId\": ",
            1 => b"{\"activityId\": \"a\", \"accountId\": \"1\", \"status\": \"WON\"}",
            2 => b"not json at all",
            _ => &[0xff, 0xfe, 0x00],
        };
        Record {
            value: value.to_vec(),
            correlation_id,
        }
    }

    /// The journey's next activity.
    pub(super) fn advance(&mut self, index: usize, at: DateTime<Utc>) -> (Record, bool) {
        let step = if self.rng.random_bool(0.85) {
            1
        } else {
            self.rng.random_range(2..=3)
        };
        let mut journey = self.journeys[index].clone();
        journey.sequence += step;
        let promotion = self.promotions[journey.promotion].clone();
        let targets: Vec<u64> = promotion
            .reward_schemes
            .iter()
            .map(|s| s.tier_definition.first_threshold().unwrap_or(5))
            .collect();
        let roll = self.rng.random_range(0..100);
        let (status, ends) = match journey.phase {
            Phase::Fresh => {
                journey.phase = Phase::Progressing;
                ("OPTED_IN", false)
            }
            Phase::Progressing if roll < 7 => {
                if journey.week == 1 {
                    self.journeys.swap_remove(index);
                    self.mix.unqualified_eppm += 1;
                    return (self.eppm(&journey, at), true);
                }
                ("UNQUALIFIED", true)
            }
            Phase::Progressing if journey.current.iter().zip(&targets).any(|(c, t)| c >= t) => {
                journey.phase = Phase::Awarded;
                ("REWARD_AWARDED", false)
            }
            Phase::Progressing if roll < 17 => ("IN_PROGRESS", false),
            Phase::Progressing => {
                let scheme = self.rng.random_range(0..journey.current.len());
                let gain = self.rng.random_range(1..=2);
                journey.current[scheme] = (journey.current[scheme] + gain).min(targets[scheme]);
                self.mix.progress += 1;
                ("IN_PROGRESS*", false)
            }
            Phase::Awarded if roll < 50 => ("REWARD_SPENT", true),
            Phase::Awarded if roll < 70 => ("EXPIRED", true),
            Phase::Awarded if roll < 80 => ("REWARD_AWARDED", false),
            Phase::Awarded => ("EXPIRED", true),
        };
        match status {
            "OPTED_IN" => self.mix.opt_ins += 1,
            "IN_PROGRESS" => self.mix.no_progress += 1,
            "REWARD_AWARDED" => self.mix.awards += 1,
            "REWARD_SPENT" => self.mix.spent += 1,
            "EXPIRED" => self.mix.expired += 1,
            "UNQUALIFIED" => self.mix.unqualified_cpp += 1,
            _ => {}
        }
        let status = status.trim_end_matches('*');
        let record = self.cpp(&journey, &promotion, &targets, status, at);
        if ends {
            self.journeys.swap_remove(index);
        } else {
            self.journeys[index] = journey;
        }
        (record, false)
    }

    pub(super) fn cpp(
        &mut self,
        journey: &Journey,
        promotion: &Promotion,
        targets: &[u64],
        status: &str,
        at: DateTime<Utc>,
    ) -> Record {
        let correlation_id = self.correlation();
        let customer = &self.customers[journey.customer];
        let progress: Vec<serde_json::Value> = promotion
            .reward_schemes
            .iter()
            .zip(&journey.current)
            .zip(targets)
            .map(|((scheme, current), target)| {
                json!({"rewardSchemeId": scheme.reward_scheme_id, "activityType": scheme.reward_type,
                       "current": current, "target": target, "status": status})
            })
            .collect();
        let value = json!({
            "activityId": format!("act-{correlation_id}"), "accountId": customer.account_id,
            "brand": customer.brand, "promoCode": promotion.promo_code,
            "attemptId": journey.attempt_id, "sequence": journey.sequence, "status": status,
            "occurredAt": format_timestamp(at), "rewardProgress": progress
        });
        let sequence = journey.sequence;
        self.record(
            value,
            correlation_id,
            journey,
            &promotion.promo_code,
            sequence,
        )
    }

    pub(super) fn eppm(&mut self, journey: &Journey, at: DateTime<Utc>) -> Record {
        let correlation_id = self.correlation();
        let customer = &self.customers[journey.customer];
        let promotion = &self.promotions[journey.promotion];
        let value = json!({
            "eventId": format!("eppm-{correlation_id}"), "accountId": customer.account_id,
            "brand": customer.brand, "promoCode": promotion.promo_code,
            "attemptId": journey.attempt_id, "week": 1, "reason": "NO_QUALIFYING_BET",
            "occurredAt": format_timestamp(at)
        });
        let promo_code = promotion.promo_code.clone();
        self.record(value, correlation_id, journey, &promo_code, 0)
    }

    /// The record of `value` (with the customer's locale, if any), its origin noted in the
    /// catalog under `correlation_id`.
    fn record(
        &mut self,
        mut value: serde_json::Value,
        correlation_id: String,
        journey: &Journey,
        promo_code: &str,
        sequence: u64,
    ) -> Record {
        let customer = &self.customers[journey.customer];
        if let Some(locale) = &customer.locale {
            value["locale"] = json!(locale);
        }
        self.catalog.insert(
            correlation_id.clone(),
            Origin {
                account_id: customer.account_id.clone(),
                promo_code: promo_code.to_owned(),
                attempt_id: journey.attempt_id.clone(),
                sequence,
            },
        );
        Record {
            value: value.to_string().into_bytes(),
            correlation_id,
        }
    }

    /// A customer goes offline, or comes online.
    pub(super) fn switch(&mut self, at: DateTime<Utc>) -> ChaosStep {
        let index = self.rng.random_range(0..self.customers.len());
        let customer = &self.customers[index];
        self.online[index] = !self.online[index];
        if self.online[index] {
            self.mix.online += 1;
            ChaosStep::Online {
                account_id: customer.account_id.clone(),
                brand: customer.brand.clone(),
                at,
            }
        } else {
            self.mix.offline += 1;
            ChaosStep::Offline {
                account_id: customer.account_id.clone(),
            }
        }
    }
}
