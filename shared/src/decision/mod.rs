//! DES's decision logic (spec section 5), pure: no I/O, no clock.
//!
//! - Each reward progress entry whose `activityType` is `FREE_SPINS`, `FREE_BET` or
//!   `GAMING_BONUS` is a `DECISION`, any other a `NO_DECISION`; the event has a decision when
//!   any entry has one (an event without entries has none).
//! - The delivery preference depends on the message type: by default `REWARD_AWARDED` is
//!   `FULL_SCREEN` and every other type `TOAST`. [`DeliveryPreferences`] overrides this per
//!   brand, from the JSON of `DELIVERY_PREFERENCES`:
//!
//! ```json
//! {"skybet": {"PROGRESS": "FULL_SCREEN", "OPT_IN": null}}
//! ```
//!
//! Semantics of an override map: a message type mapped to a format gets that format; a type
//! mapped to `null` gets **no** preference ("a type with no preference configured gets none":
//! BCG then drops its messages as `no-delivery-preference`); a type the brand's map does not
//! name keeps its default, as does every type of a brand that is not in the JSON. So `{}`
//! keeps the defaults, and overriding one type never silently disables the others. Unknown
//! message types or formats are a configuration error.

use std::collections::{BTreeMap, HashMap};

use crate::model::{
    Decision, DecisionKind, DeliveryFormat, MessageType, ProgressDecision, RewardMessage,
};

/// The activity types DES decides to message about.
pub const DECISION_ACTIVITY_TYPES: [&str; 3] = ["FREE_SPINS", "FREE_BET", "GAMING_BONUS"];

/// The verdict for one activity type (exact, case-sensitive match: the values are codes).
pub fn decide_activity_type(activity_type: &str) -> DecisionKind {
    if DECISION_ACTIVITY_TYPES.contains(&activity_type) {
        DecisionKind::Decision
    } else {
        DecisionKind::NoDecision
    }
}

/// The default delivery preference of a message type: `REWARD_AWARDED` full screen, the
/// others toast.
pub fn default_preference(message_type: MessageType) -> DeliveryFormat {
    match message_type {
        MessageType::RewardAwarded => DeliveryFormat::FullScreen,
        MessageType::OptIn | MessageType::Progress | MessageType::Unqualification => {
            DeliveryFormat::Toast
        }
    }
}

/// Per-brand overrides of the delivery preference (see the module docs for the semantics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryPreferences {
    brands: HashMap<String, BTreeMap<MessageType, Option<DeliveryFormat>>>,
}

impl DeliveryPreferences {
    /// Reads the JSON of `DELIVERY_PREFERENCES`: an object of brands, each an object of
    /// message types to `"TOAST"`, `"FULL_SCREEN"` or `null`. The error says what is wrong.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let raw: HashMap<String, BTreeMap<String, Option<DeliveryFormat>>> =
            serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut brands = HashMap::with_capacity(raw.len());
        for (brand, overrides) in raw {
            let mut parsed = BTreeMap::new();
            for (message_type, format) in overrides {
                let message_type: MessageType = message_type
                    .parse()
                    .map_err(|e: String| format!("brand `{brand}`: {e}"))?;
                parsed.insert(message_type, format);
            }
            brands.insert(brand, parsed);
        }
        Ok(DeliveryPreferences { brands })
    }

    /// Sets the preference of one brand's message type (`None`: no preference).
    pub fn set(
        &mut self,
        brand: impl Into<String>,
        message_type: MessageType,
        format: Option<DeliveryFormat>,
    ) {
        self.brands
            .entry(brand.into())
            .or_default()
            .insert(message_type, format);
    }

    /// The preference for `brand`'s messages of `message_type`.
    pub fn preference(&self, brand: &str, message_type: MessageType) -> Option<DeliveryFormat> {
        match self
            .brands
            .get(brand)
            .and_then(|overrides| overrides.get(&message_type))
        {
            Some(configured) => *configured,
            None => Some(default_preference(message_type)),
        }
    }
}

/// DES's decision on a reward message of `brand`.
pub fn decide(message: &RewardMessage, brand: &str, preferences: &DeliveryPreferences) -> Decision {
    let decisions: Vec<ProgressDecision> = message
        .activity
        .reward_progress
        .iter()
        .map(|progress| ProgressDecision {
            reward_scheme_id: progress.reward_scheme_id.clone(),
            activity_type: progress.activity_type.clone(),
            decision: decide_activity_type(&progress.activity_type),
        })
        .collect();
    let has_decision = decisions
        .iter()
        .any(|entry| entry.decision == DecisionKind::Decision);
    Decision {
        has_decision,
        decisions,
        delivery_preference: preferences.preference(brand, message.message_type),
    }
}

/// The wire format of a batch of decisions: `POST /decisions` with a JSON array of CloudEvents
/// (spec section 5), answered with one flag per event in a header and a body holding only what
/// the flags say is there.
///
/// - Request body: `[event, event, …]`, at most [`MAX_EVENTS`](batch::MAX_EVENTS) events and
///   [`MAX_BYTES`](batch::MAX_BYTES) bytes; each event is read exactly as the single form reads
///   it.
/// - Response: 200 with `has-decision: true,false,invalid,…`, one flag per event in the order of
///   the request (the single form's header, as a list), and a JSON body
///   `{"decisions": [Decision, …], "errors": ["invalid-input: …", …]}`: one decision per `true`
///   flag and one reason per `invalid` flag, each in request order. An event DES cannot read is
///   `invalid` alone; the others are still decided. When every flag is `false` the body need not
///   be read at all.
/// - A request that is not a JSON array of at most that many events is a 400 (413 past the
///   size), as a bad single event is.
pub mod batch {
    use serde::{Deserialize, Serialize};

    use crate::model::Decision;

    /// Most events in one batch request (a FRED batch of a standard queue is at most 100).
    pub const MAX_EVENTS: usize = 100;
    /// Largest batch request body, in bytes: a Lambda function URL's synchronous payload limit.
    pub const MAX_BYTES: usize = 6 * 1024 * 1024;
    /// The request content type of a batch (CloudEvents' JSON batch format).
    pub const CONTENT_TYPE: &str = "application/cloudevents-batch+json";

    /// One event's flag in the `has-decision` header of a batch answer.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Flag {
        /// `true`: decided; its decision is next in `decisions`.
        Decided,
        /// `false`: no decision; nothing of it in the body.
        NoDecision,
        /// `invalid`: DES could not read the event; its reason is next in `errors`.
        Invalid,
    }

    impl Flag {
        /// The flag's text in the header.
        pub fn as_str(self) -> &'static str {
            match self {
                Flag::Decided => "true",
                Flag::NoDecision => "false",
                Flag::Invalid => "invalid",
            }
        }
    }

    /// The `has-decision` header value for `flags` (`true,false,invalid`).
    pub fn header(flags: &[Flag]) -> String {
        let mut out = String::with_capacity(flags.len() * 6);
        for (i, flag) in flags.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(flag.as_str());
        }
        out
    }

    /// Reads a `has-decision` header of a batch answer (spaces around the flags and any case
    /// are accepted); the error names the first flag that is not one of the three.
    pub fn parse_header(value: &str) -> Result<Vec<Flag>, String> {
        value
            .split(',')
            .map(|flag| match flag.trim() {
                f if f.eq_ignore_ascii_case("true") => Ok(Flag::Decided),
                f if f.eq_ignore_ascii_case("false") => Ok(Flag::NoDecision),
                f if f.eq_ignore_ascii_case("invalid") => Ok(Flag::Invalid),
                other => Err(format!("flag `{other}` is not true, false or invalid")),
            })
            .collect()
    }

    /// The body of a batch answer.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Body {
        /// One decision per `true` flag, in order.
        #[serde(default)]
        pub decisions: Vec<Decision>,
        /// One reason per `invalid` flag, in order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub errors: Vec<String>,
    }

    /// One event's answer, the header and body joined.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Answer {
        /// Decided.
        Decided(Decision),
        /// No decision.
        NoDecision,
        /// DES could not read the event: why.
        Invalid(String),
    }

    /// The request body for these CloudEvents (each already a JSON object).
    pub fn request_body<S: AsRef<str>>(events: &[S]) -> String {
        let bytes = events.iter().map(|e| e.as_ref().len() + 1).sum::<usize>() + 2;
        let mut out = String::with_capacity(bytes);
        out.push('[');
        for (i, event) in events.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(event.as_ref());
        }
        out.push(']');
        out
    }

    /// Joins the flags of a batch answer with its body, read by `read_body` only when some flag
    /// needs it. The error says what does not add up (a count, an unreadable body).
    pub fn answers(
        flags: &[Flag],
        expected: usize,
        read_body: impl FnOnce() -> Result<Body, String>,
    ) -> Result<Vec<Answer>, String> {
        if flags.len() != expected {
            return Err(format!(
                "{} flags for {expected} events in `has-decision`",
                flags.len()
            ));
        }
        if flags.iter().all(|f| *f == Flag::NoDecision) {
            return Ok(vec![Answer::NoDecision; expected]);
        }
        let body = read_body()?;
        let wanted = |kind: Flag| flags.iter().filter(|f| **f == kind).count();
        if body.decisions.len() != wanted(Flag::Decided)
            || body.errors.len() != wanted(Flag::Invalid)
        {
            return Err(format!(
                "body holds {} decisions and {} errors for flags `{}`",
                body.decisions.len(),
                body.errors.len(),
                header(flags)
            ));
        }
        let mut decisions = body.decisions.into_iter();
        let mut errors = body.errors.into_iter();
        Ok(flags
            .iter()
            .map(|flag| match flag {
                Flag::Decided => decisions.next().map_or(Answer::NoDecision, Answer::Decided),
                Flag::NoDecision => Answer::NoDecision,
                Flag::Invalid => errors
                    .next()
                    .map_or_else(|| Answer::Invalid(String::new()), Answer::Invalid),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixtures::reward_message as message;

    #[test]
    fn each_known_activity_type_is_a_decision() {
        for activity_type in ["FREE_SPINS", "FREE_BET", "GAMING_BONUS"] {
            let decision = decide(
                &message(MessageType::Progress, &[activity_type]),
                "skybet",
                &DeliveryPreferences::default(),
            );
            assert!(decision.has_decision, "{activity_type}");
            assert_eq!(decision.decisions[0].decision, DecisionKind::Decision);
        }
    }

    #[test]
    fn other_activity_types_are_no_decision() {
        for activity_type in ["CASHBACK", "free_spins", "", "FREE_SPINS "] {
            let decision = decide(
                &message(MessageType::Progress, &[activity_type]),
                "skybet",
                &DeliveryPreferences::default(),
            );
            assert!(!decision.has_decision, "{activity_type:?}");
            assert_eq!(decision.decisions[0].decision, DecisionKind::NoDecision);
        }
    }

    #[test]
    fn mixed_progress_has_a_decision_if_any_entry_has_one() {
        let decision = decide(
            &message(MessageType::Progress, &["CASHBACK", "FREE_BET", "LOYALTY"]),
            "skybet",
            &DeliveryPreferences::default(),
        );
        assert!(decision.has_decision);
        let kinds: Vec<_> = decision.decisions.iter().map(|d| d.decision).collect();
        assert_eq!(
            kinds,
            vec![
                DecisionKind::NoDecision,
                DecisionKind::Decision,
                DecisionKind::NoDecision
            ]
        );
        assert_eq!(decision.decisions[1].reward_scheme_id, "rs-1");
    }

    #[test]
    fn no_progress_entries_is_no_decision() {
        let decision = decide(
            &message(MessageType::Progress, &[]),
            "skybet",
            &DeliveryPreferences::default(),
        );
        assert!(!decision.has_decision);
        assert!(decision.decisions.is_empty());
    }

    #[test]
    fn defaults_are_full_screen_for_awards_and_toast_otherwise() {
        let preferences = DeliveryPreferences::default();
        for message_type in MessageType::ALL {
            let expected = if message_type == MessageType::RewardAwarded {
                DeliveryFormat::FullScreen
            } else {
                DeliveryFormat::Toast
            };
            assert_eq!(
                preferences.preference("skybet", message_type),
                Some(expected)
            );
        }
    }

    #[test]
    fn brand_overrides_set_clear_or_keep_the_default() {
        let preferences = DeliveryPreferences::from_json(
            r#"{"skybet": {"PROGRESS": "FULL_SCREEN", "OPT_IN": null}}"#,
        )
        .expect("parses");
        assert_eq!(
            preferences.preference("skybet", MessageType::Progress),
            Some(DeliveryFormat::FullScreen)
        );
        assert_eq!(preferences.preference("skybet", MessageType::OptIn), None);
        assert_eq!(
            preferences.preference("skybet", MessageType::RewardAwarded),
            Some(DeliveryFormat::FullScreen)
        );
        assert_eq!(
            preferences.preference("skybet", MessageType::Unqualification),
            Some(DeliveryFormat::Toast)
        );
        // Another brand keeps every default.
        assert_eq!(
            preferences.preference("skyvegas", MessageType::OptIn),
            Some(DeliveryFormat::Toast)
        );
        let decision = decide(
            &message(MessageType::OptIn, &["FREE_SPINS"]),
            "skybet",
            &preferences,
        );
        assert!(decision.has_decision);
        assert_eq!(decision.delivery_preference, None);
    }

    #[test]
    fn empty_object_keeps_defaults_and_bad_json_is_named() {
        assert_eq!(
            DeliveryPreferences::from_json("{}").expect("empty"),
            DeliveryPreferences::default()
        );
        let error = DeliveryPreferences::from_json(r#"{"skybet": {"WIN": "TOAST"}}"#)
            .expect_err("unknown type");
        assert!(error.contains("unknown message type `WIN`"), "{error}");
        let error = DeliveryPreferences::from_json(r#"{"skybet": {"PROGRESS": "POPUP"}}"#)
            .expect_err("unknown format");
        assert!(error.contains("POPUP"), "{error}");
        assert!(DeliveryPreferences::from_json("[").is_err());
    }

    #[test]
    fn batch_flags_round_trip_and_bad_flags_are_named() {
        use super::batch::{header, parse_header, Flag};
        let flags = [Flag::Decided, Flag::NoDecision, Flag::Invalid];
        assert_eq!(header(&flags), "true,false,invalid");
        assert_eq!(parse_header(" TRUE , false,invalid").expect("flags"), flags);
        let error = parse_header("true,maybe").expect_err("bad flag");
        assert!(error.contains("`maybe`"), "{error}");
    }

    #[test]
    fn batch_answers_read_the_body_only_when_a_flag_needs_it() {
        use super::batch::{answers, Answer, Body, Flag};
        let none = answers(&[Flag::NoDecision, Flag::NoDecision], 2, || {
            panic!("the body of an all-false answer is never read")
        });
        assert_eq!(none, Ok(vec![Answer::NoDecision, Answer::NoDecision]));
        let decided = decide(
            &message(MessageType::Progress, &["FREE_SPINS"]),
            "skybet",
            &DeliveryPreferences::default(),
        );
        let body = Body {
            decisions: vec![decided.clone()],
            errors: vec!["invalid-input: x".into()],
        };
        let flags = [Flag::Invalid, Flag::NoDecision, Flag::Decided];
        let joined = answers(&flags, 3, || Ok(body.clone())).expect("answers");
        assert_eq!(
            joined,
            vec![
                Answer::Invalid("invalid-input: x".into()),
                Answer::NoDecision,
                Answer::Decided(decided)
            ]
        );
        assert!(answers(&flags, 2, || Ok(body.clone()))
            .expect_err("count")
            .contains("2 events"));
        assert!(answers(&[Flag::Decided], 1, || Ok(Body::default()))
            .expect_err("missing decision")
            .contains("0 decisions"));
    }

    #[test]
    fn batch_request_body_is_a_json_array_of_the_events() {
        let body = super::batch::request_body(&[r#"{"id":"a"}"#, r#"{"id":"b"}"#]);
        assert_eq!(body, r#"[{"id":"a"},{"id":"b"}]"#);
        assert_eq!(super::batch::request_body::<&str>(&[]), "[]");
    }
}
