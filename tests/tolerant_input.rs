//! The reading policy of spec section 3 ("Reading inputs"), as properties of the whole
//! in-process pipeline:
//!
//! - for any valid activity or promotion of the scenarios in `events/scenarios/`, adding
//!   unknown fields, turning optional fields to `null` (or dropping them), changing
//!   progress-entry statuses, and writing counts and numeric ids the other ways the contract
//!   allows (`5.0`, `"5"`, `10048213`) never changes the outcome lines;
//! - a record missing a required field (absent or `null`) is dead-lettered with a reason
//!   naming the field.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use scenario_runner::{report, Pipeline, Scenario};
use serde_json::{json, Value};

/// The scenarios whose inputs are all valid (no raw or bad records).
const BASES: [&str; 8] = [
    "happy-path",
    "offline-then-online",
    "reward-spent-before-seen",
    "week-one-unqualification-eppm",
    "week-two-unqualification-cpp",
    "progress-entry-status-free-text",
    "unknown-reward-scheme",
    "hash-in-ids",
];

fn scenario_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/scenarios")
        .join(format!("{name}.json"))
}

fn base(name: &str) -> Value {
    let path = scenario_file(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// The outcome lines of a scenario given as JSON.
fn outcomes(scenario: &Value) -> Result<String, String> {
    let scenario = Scenario::parse(Path::new("varied.json"), &scenario.to_string())
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let mut pipeline = Pipeline::in_memory(&scenario).map_err(|e| e.to_string())?;
        for (index, step) in scenario.steps.iter().enumerate() {
            pipeline.feed(index + 1, step).await;
        }
        Ok(report::json_lines(&pipeline.into_trace()))
    })
}

/// A place in a scenario where an input may vary without changing what the pipeline does.
#[derive(Debug, Clone)]
enum Site {
    /// An object that may gain an unknown field.
    Object(String),
    /// An optional field that may be `null` or absent.
    Optional(String),
    /// A progress entry's status: free text, never interpreted.
    ProgressStatus(String),
    /// A count (`sequence`, `current`, `target`) that may be written as a float or a string.
    Count(String),
    /// An all-digit identifier that may be written as a JSON number.
    NumericId(String),
}

/// Every site of `scenario` (JSON pointers).
fn sites(scenario: &Value) -> Vec<Site> {
    let default_locale = scenario["config"]["defaultLocale"]
        .as_str()
        .unwrap_or("en-GB")
        .to_ascii_lowercase();
    let mut sites = Vec::new();
    let optional = |sites: &mut Vec<Site>, object: &Value, at: &str, fields: &[&str]| {
        for field in fields {
            if object.get(field).is_some() {
                sites.push(Site::Optional(format!("{at}/{field}")));
            }
        }
    };
    for (i, step) in scenario["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(activity) = step.get("cppActivity") {
            let at = format!("/steps/{i}/cppActivity");
            sites.push(Site::Object(at.clone()));
            optional(&mut sites, activity, &at, &["activityId", "brand"]);
            sites.push(Site::Count(format!("{at}/sequence")));
            numeric_id(&mut sites, activity, &at);
            if activity["locale"].as_str().map(str::to_ascii_lowercase)
                == Some(default_locale.clone())
            {
                sites.push(Site::Optional(format!("{at}/locale")));
            }
            for (j, _) in activity["rewardProgress"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let entry = format!("{at}/rewardProgress/{j}");
                sites.push(Site::Object(entry.clone()));
                sites.push(Site::ProgressStatus(format!("{entry}/status")));
                sites.push(Site::Count(format!("{entry}/current")));
                sites.push(Site::Count(format!("{entry}/target")));
            }
        }
        if let Some(activity) = step.get("eppmActivity") {
            let at = format!("/steps/{i}/eppmActivity");
            sites.push(Site::Object(at.clone()));
            optional(
                &mut sites,
                activity,
                &at,
                &["eventId", "brand", "week", "reason"],
            );
            if activity["locale"].as_str().map(str::to_ascii_lowercase)
                == Some(default_locale.clone())
            {
                sites.push(Site::Optional(format!("{at}/locale")));
            }
        }
        if let Some(online) = step.get("customerOnline") {
            let at = format!("/steps/{i}/customerOnline");
            sites.push(Site::Object(at.clone()));
            optional(&mut sites, online, &at, &["onlineAt"]);
            numeric_id(&mut sites, online, &at);
        }
    }
    for (k, promotion) in scenario["promotions"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("/promotions/{k}");
        sites.push(Site::Object(at.clone()));
        optional(&mut sites, promotion, &at, &["promoUrl"]);
        for (s, scheme) in promotion["rewardSchemes"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let scheme_at = format!("{at}/rewardSchemes/{s}");
            sites.push(Site::Object(scheme_at.clone()));
            optional(
                &mut sites,
                scheme,
                &scheme_at,
                &["products", "productRewardType"],
            );
            for (t, tier) in scheme["tierDefinition"]["tiers"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let tier_at = format!("{scheme_at}/tierDefinition/tiers/{t}");
                sites.push(Site::Object(tier_at.clone()));
                optional(&mut sites, tier, &tier_at, &["reward"]);
            }
        }
    }
    sites
}

/// The record's `accountId`, when it is all digits, as a site for a JSON number.
fn numeric_id(sites: &mut Vec<Site>, record: &Value, at: &str) {
    let digits = record["accountId"].as_str().is_some_and(|id| {
        !id.is_empty()
            && id.len() < 16
            && id.bytes().all(|b| b.is_ascii_digit())
            && !id.starts_with('0')
    });
    if digits {
        sites.push(Site::NumericId(format!("{at}/accountId")));
    }
}

/// Unknown values another team's service might add.
fn unknown_value(choice: u8) -> Value {
    match choice % 5 {
        0 => json!(null),
        1 => json!("surprise"),
        2 => json!(42.5),
        3 => json!({"nested": [1, {"deep": true}]}),
        _ => json!(["a", null]),
    }
}

/// Progress-entry statuses other teams send.
fn status_value(choice: u8) -> Option<Value> {
    match choice % 6 {
        0 => None,
        1 => Some(json!(null)),
        2 => Some(json!("COMPLETED")),
        3 => Some(json!("ACTIVE")),
        4 => Some(json!("")),
        _ => Some(json!("in progress, 3 of 5")),
    }
}

/// `scenario` with the variation `choice` applied at each of its sites (choice 0: unchanged).
fn varied(scenario: &Value, choices: &[(u8, u8)]) -> Value {
    let mut varied = scenario.clone();
    for (site, &(kind, detail)) in sites(scenario).iter().zip(choices.iter().cycle()) {
        if kind % 3 == 0 {
            continue;
        }
        match site {
            Site::Object(at) => {
                if let Some(Value::Object(object)) = varied.pointer_mut(at) {
                    object.insert(format!("x-extra-{detail}"), unknown_value(detail));
                }
            }
            Site::Count(at) => {
                if let Some(slot) = varied.pointer_mut(at) {
                    if let Some(count) = slot.as_u64() {
                        *slot = if detail % 2 == 0 {
                            json!(count.to_string())
                        } else {
                            json!(count as f64)
                        };
                    }
                }
            }
            Site::NumericId(at) => {
                if let Some(slot) = varied.pointer_mut(at) {
                    if let Some(id) = slot.as_str().and_then(|id| id.parse::<u64>().ok()) {
                        *slot = json!(id);
                    }
                }
            }
            Site::Optional(at) | Site::ProgressStatus(at) => {
                let Some((parent, field)) = at.rsplit_once('/') else {
                    continue;
                };
                let value = match site {
                    Site::ProgressStatus(_) => status_value(detail),
                    _ if detail % 2 == 0 => None,
                    _ => Some(Value::Null),
                };
                if let Some(Value::Object(object)) = varied.pointer_mut(parent) {
                    match value {
                        Some(value) => object.insert(field.to_owned(), value),
                        None => object.remove(field),
                    };
                }
            }
        }
    }
    varied
}

/// The required fields of each record, as the contract lists them.
const CPP_REQUIRED: [&str; 6] = [
    "accountId",
    "promoCode",
    "attemptId",
    "sequence",
    "status",
    "occurredAt",
];
const EPPM_REQUIRED: [&str; 4] = ["accountId", "promoCode", "attemptId", "occurredAt"];
const ONLINE_REQUIRED: [&str; 1] = ["accountId"];

/// Each (step pointer, field, stage) where removing a required field must dead-letter.
fn required_sites(scenario: &Value) -> Vec<(String, &'static str, &'static str)> {
    let mut sites = Vec::new();
    for (i, step) in scenario["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let (kind, fields, stage): (&str, &[&'static str], _) = if step.get("cppActivity").is_some()
        {
            ("cppActivity", &CPP_REQUIRED, "dec")
        } else if step.get("eppmActivity").is_some() {
            ("eppmActivity", &EPPM_REQUIRED, "dec")
        } else if step.get("customerOnline").is_some() {
            ("customerOnline", &ONLINE_REQUIRED, "msq")
        } else {
            continue;
        };
        for field in fields {
            sites.push((format!("/steps/{i}/{kind}"), *field, stage));
        }
    }
    sites
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn unknown_fields_nulls_and_progress_statuses_never_change_the_outcomes(
        pick in 0..BASES.len(),
        choices in prop::collection::vec((any::<u8>(), any::<u8>()), 1..40),
    ) {
        let scenario = base(BASES[pick]);
        let expected = outcomes(&scenario).map_err(TestCaseError::fail)?;
        let varied = varied(&scenario, &choices);
        let actual = outcomes(&varied).map_err(TestCaseError::fail)?;
        prop_assert_eq!(actual, expected, "{} varied as {}", BASES[pick], varied);
    }

    #[test]
    fn a_record_missing_a_required_field_is_dead_lettered_naming_it(
        pick in 0..BASES.len(),
        site in any::<prop::sample::Index>(),
        as_null in any::<bool>(),
    ) {
        let mut scenario = base(BASES[pick]);
        let sites = required_sites(&scenario);
        let (at, field, stage) = sites[site.index(sites.len())].clone();
        if let Some(Value::Object(record)) = scenario.pointer_mut(&at) {
            if as_null {
                record.insert(field.to_owned(), Value::Null);
            } else {
                record.remove(field);
            }
        }
        let lines = outcomes(&scenario).map_err(TestCaseError::fail)?;
        let named = lines.lines().filter_map(|line| serde_json::from_str::<Value>(line).ok()).any(|outcome| {
            outcome["outcome"] == "dead-lettered"
                && outcome["stage"] == stage
                && outcome["reason"].as_str().is_some_and(|reason| {
                    reason.starts_with("invalid-input: ") && reason.contains(&format!("`{field}`"))
                })
        });
        prop_assert!(named, "{} without {} at {}: {}", BASES[pick], field, at, lines);
    }
}

#[test]
fn every_base_scenario_has_sites_of_each_kind() {
    let all: Vec<Site> = BASES.iter().flat_map(|name| sites(&base(name))).collect();
    assert!(all.iter().any(|s| matches!(s, Site::Object(_))));
    assert!(all.iter().any(|s| matches!(s, Site::Optional(_))));
    assert!(all.iter().any(|s| matches!(s, Site::ProgressStatus(_))));
    assert!(all.iter().any(|s| matches!(s, Site::Count(_))));
    assert!(all.iter().any(|s| matches!(s, Site::NumericId(_))));
    for name in BASES {
        assert!(!required_sites(&base(name)).is_empty(), "{name}");
    }
}
