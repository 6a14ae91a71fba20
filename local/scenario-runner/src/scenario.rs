//! The scenario file of spec section 7, read strictly: an unreadable scenario is an error
//! naming the file, the step and the problem.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rewards_shared::model::{MessageType, Promotion};
use serde::Deserialize;
use serde_json::Value;

/// Why a scenario cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("{file}: cannot read: {reason}")]
    Unreadable {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The file is not a scenario (bad JSON, a missing or malformed field).
    #[error("{file}: {problem}")]
    Malformed {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// One step cannot be run.
    #[error("{file}: step {step}: {problem}")]
    Step {
        /// The file.
        file: PathBuf,
        /// The step's number, from 1.
        step: usize,
        /// What is wrong.
        problem: String,
    },
}

/// The cycle start day (spec section 5).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CycleStart {
    /// Day of the week, e.g. `MONDAY`.
    #[serde(default = "default_weekday")]
    pub weekday: String,
    /// IANA time zone, e.g. `Europe/London`.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
}

fn default_weekday() -> String {
    "MONDAY".into()
}

fn default_time_zone() -> String {
    "Europe/London".into()
}

impl Default for CycleStart {
    fn default() -> Self {
        CycleStart {
            weekday: default_weekday(),
            time_zone: default_time_zone(),
        }
    }
}

/// The scenario's `config`: every key optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioConfig {
    /// TIM's filter tag.
    #[serde(default = "default_tag")]
    pub tim_filter_tag: String,
    /// BCG's default locale.
    #[serde(default = "default_locale")]
    pub default_locale: String,
    /// BCG's cycle start.
    #[serde(default)]
    pub cycle_start: CycleStart,
    /// FRED's filter, as its `FRED_CONFIG` JSON (absent: everything passes).
    #[serde(default)]
    pub fred: Option<Value>,
    /// DES's per-brand delivery preferences, as its `DELIVERY_PREFERENCES` JSON.
    #[serde(default)]
    pub delivery_preferences: Option<Value>,
}

fn default_tag() -> String {
    "tim".into()
}

fn default_locale() -> String {
    "en-GB".into()
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        ScenarioConfig {
            tim_filter_tag: default_tag(),
            default_locale: default_locale(),
            cycle_start: CycleStart::default(),
            fred: None,
            delivery_preferences: None,
        }
    }
}

/// A CSL template the scenario serves.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioTemplate {
    /// Brand.
    pub brand: String,
    /// Message type.
    pub message_type: MessageType,
    /// Locale.
    pub locale: String,
    /// Title with placeholders.
    pub title: String,
    /// Body with placeholders.
    pub body: String,
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A CPP activity, fed as the Kafka record value (the JSON as written).
    CppActivity(Value),
    /// An EPPM activity, fed as the Kafka record value.
    EppmActivity(Value),
    /// Any text, fed as the CPP record value as it is.
    CppRaw(String),
    /// A customer-online event, fed to MSQ's online topic; OSG answers 200 for them from now.
    CustomerOnline(Value),
    /// OSG answers 404 for this customer from now.
    CustomerOffline {
        /// The customer.
        account_id: String,
    },
    /// Sets the clock.
    SetClock(DateTime<Utc>),
}

impl Step {
    /// The step's kind, as the scenario names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::CppActivity(_) => "cppActivity",
            Step::EppmActivity(_) => "eppmActivity",
            Step::CppRaw(_) => "cppRaw",
            Step::CustomerOnline(_) => "customerOnline",
            Step::CustomerOffline { .. } => "customerOffline",
            Step::SetClock(_) => "setClock",
        }
    }
}

/// A scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Where it was read from.
    pub file: PathBuf,
    /// The clock at the start.
    pub now: DateTime<Utc>,
    /// Stage settings.
    pub config: ScenarioConfig,
    /// PPH's promotions.
    pub promotions: Vec<Promotion>,
    /// CSL's templates.
    pub templates: Vec<ScenarioTemplate>,
    /// Who OSG answers 200 for at the start.
    pub onsite: Vec<String>,
    /// The steps.
    pub steps: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawScenario {
    /// What the scenario shows (free text, for people).
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    now: String,
    #[serde(default)]
    config: ScenarioConfig,
    #[serde(default)]
    promotions: Vec<Promotion>,
    #[serde(default)]
    templates: Vec<ScenarioTemplate>,
    #[serde(default)]
    onsite: Vec<String>,
    steps: Vec<Value>,
}

impl Scenario {
    /// Reads a scenario file.
    pub fn read(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Unreadable {
            file: path.to_owned(),
            reason: e.to_string(),
        })?;
        Scenario::parse(path, &text)
    }

    /// Parses a scenario's text (`path` names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        let malformed = |problem: String| ScenarioError::Malformed {
            file: path.to_owned(),
            problem,
        };
        let raw: RawScenario =
            serde_json::from_str(text).map_err(|e| malformed(format!("not a scenario: {e}")))?;
        let now = parse_time(&raw.now).map_err(|problem| malformed(format!("`now`: {problem}")))?;
        let steps = raw
            .steps
            .into_iter()
            .enumerate()
            .map(|(index, step)| {
                parse_step(step).map_err(|problem| ScenarioError::Step {
                    file: path.to_owned(),
                    step: index + 1,
                    problem,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Scenario {
            file: path.to_owned(),
            now,
            config: raw.config,
            promotions: raw.promotions,
            templates: raw.templates,
            onsite: raw.onsite,
            steps,
        })
    }
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| format!("bad date `{text}`: {e}"))
}

fn parse_step(step: Value) -> Result<Step, String> {
    let Value::Object(map) = step else {
        return Err("a step is an object with one key".into());
    };
    let mut entries = map.into_iter();
    let (Some((kind, value)), None) = (entries.next(), entries.next()) else {
        return Err("a step is an object with exactly one key".into());
    };
    let object = |value: Value| match value {
        Value::Object(_) => Ok(value),
        other => Err(format!("`{kind}` takes an object, not {other}")),
    };
    match kind.as_str() {
        "cppActivity" => Ok(Step::CppActivity(object(value)?)),
        "eppmActivity" => Ok(Step::EppmActivity(object(value)?)),
        "customerOnline" => Ok(Step::CustomerOnline(object(value)?)),
        "cppRaw" => match value {
            Value::String(text) => Ok(Step::CppRaw(text)),
            other => Err(format!("`cppRaw` takes a string, not {other}")),
        },
        "customerOffline" => value
            .get("accountId")
            .and_then(Value::as_str)
            .map(|account| Step::CustomerOffline {
                account_id: account.to_owned(),
            })
            .ok_or_else(|| "`customerOffline` needs an `accountId` string".to_owned()),
        "setClock" => match value {
            Value::String(text) => parse_time(&text).map(Step::SetClock),
            other => Err(format!("`setClock` takes a date string, not {other}")),
        },
        unknown => Err(format!("unknown step kind `{unknown}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(Path::new("s.json"), text)
    }

    #[test]
    fn reads_every_step_kind_with_defaults() {
        let scenario = parse(
            r#"{"now": "2026-11-18T10:00:00.000Z", "steps": [
                {"cppActivity": {"a": 1}}, {"eppmActivity": {}}, {"cppRaw": "x"},
                {"customerOnline": {"accountId": "1"}}, {"customerOffline": {"accountId": "1"}},
                {"setClock": "2026-11-23T08:00:00.000Z"}]}"#,
        )
        .expect("scenario");
        let kinds: Vec<_> = scenario.steps.iter().map(Step::kind).collect();
        assert_eq!(
            kinds,
            [
                "cppActivity",
                "eppmActivity",
                "cppRaw",
                "customerOnline",
                "customerOffline",
                "setClock"
            ]
        );
        assert_eq!(scenario.config, ScenarioConfig::default());
    }

    #[test]
    fn errors_name_the_file_the_step_and_the_problem() {
        let unknown = parse(
            r#"{"now": "2026-11-18T10:00:00Z", "steps": [{"setClock": "2026-11-18T10:00:00Z"}, {"teleport": {}}]}"#,
        );
        assert_eq!(
            unknown.expect_err("unknown").to_string(),
            "s.json: step 2: unknown step kind `teleport`"
        );
        let bad_date =
            parse(r#"{"now": "2026-11-18T10:00:00Z", "steps": [{"setClock": "tomorrow"}]}"#);
        assert!(bad_date
            .expect_err("bad date")
            .to_string()
            .starts_with("s.json: step 1: bad date `tomorrow`"));
        let bad_now = parse(r#"{"now": "soon", "steps": []}"#);
        assert!(bad_now
            .expect_err("bad now")
            .to_string()
            .starts_with("s.json: `now`: bad date"));
        let bad_json = parse("{");
        assert!(bad_json
            .expect_err("bad json")
            .to_string()
            .starts_with("s.json: not a scenario"));
        let missing = Scenario::read(Path::new("/nonexistent/scenario.json"));
        assert!(missing
            .expect_err("missing")
            .to_string()
            .starts_with("/nonexistent/scenario.json: cannot read"));
    }
}
