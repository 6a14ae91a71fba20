//! The wire format of a batch of decisions: `POST /decisions` with a JSON array of CloudEvents
//! (spec section 5), answered with one flag per event in a header and a body holding only what
//! the flags say is there.
//!
//! - Request body: `[event, event, …]`, at most [`MAX_EVENTS`] events and
//!   [`MAX_BYTES`] bytes; each event is read exactly as the single form reads
//!   it.
//! - Response: 200 with `has-decision: true,false,invalid,…`, one flag per event in the order of
//!   the request (the single form's header, as a list), and a JSON body
//!   `{"decisions": [Decision, …], "errors": ["invalid-input: …", …]}`: one decision per `true`
//!   flag and one reason per `invalid` flag, each in request order. An event DES cannot read is
//!   `invalid` alone; the others are still decided. When every flag is `false` the body need not
//!   be read at all.
//! - A request that is not a JSON array of at most that many events is a 400 (413 past the
//!   size), as a bad single event is.

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
    if body.decisions.len() != wanted(Flag::Decided) || body.errors.len() != wanted(Flag::Invalid) {
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

#[cfg(test)]
mod tests {
    use super::super::{decide, DeliveryPreferences};
    use super::*;
    use crate::model::MessageType;
    use crate::testing::fixtures::reward_message as message;

    #[test]
    fn batch_flags_round_trip_and_bad_flags_are_named() {
        use super::{header, parse_header, Flag};
        let flags = [Flag::Decided, Flag::NoDecision, Flag::Invalid];
        assert_eq!(header(&flags), "true,false,invalid");
        assert_eq!(parse_header(" TRUE , false,invalid").expect("flags"), flags);
        let error = parse_header("true,maybe").expect_err("bad flag");
        assert!(error.contains("`maybe`"), "{error}");
    }

    #[test]
    fn batch_answers_read_the_body_only_when_a_flag_needs_it() {
        use super::{answers, Answer, Body, Flag};
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
        let body = request_body(&[r#"{"id":"a"}"#, r#"{"id":"b"}"#]);
        assert_eq!(body, r#"[{"id":"a"},{"id":"b"}]"#);
        assert_eq!(request_body::<&str>(&[]), "[]");
    }
}
