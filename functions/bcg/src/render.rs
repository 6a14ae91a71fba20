//! Rendering a CSL template into an onsite message's title and body.
//!
//! Placeholders are `{{name}}` (spaces inside the braces are ignored). The known names:
//!
//! | placeholder | value |
//! |---|---|
//! | `{{promoName}}` | the promotion's name |
//! | `{{promoUrl}}` | the promotion's page |
//! | `{{current}}` | the first reward progress entry's `current` |
//! | `{{target}}` | … its `target` |
//! | `{{rewardType}}` | … its scheme's `rewardType` |
//! | `{{expirationDate}}` | … its `expirationDate`, RFC 3339 in UTC with milliseconds |
//!
//! Progress placeholders render empty when the event has no progress entry. Any other name —
//! customer data such as `{{accountId}}` included, on purpose: content carries no customer
//! data — renders empty and logs a warning. A `{{` without a closing `}}` is kept as text.

use std::collections::BTreeMap;

use rewards_shared::envelope::format_timestamp;
use rewards_shared::model::EnrichedActivity;

/// The placeholder names templates may use.
pub const PLACEHOLDERS: [&str; 6] = [
    "promoName",
    "promoUrl",
    "current",
    "target",
    "rewardType",
    "expirationDate",
];

/// Longest placeholder name quoted in a warning.
const MAX_NAME_IN_LOG: usize = 64;

/// The values of the placeholders for one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placeholders {
    values: BTreeMap<&'static str, String>,
}

impl Placeholders {
    /// The values taken from an enriched activity (progress from its first entry).
    pub fn from_activity(activity: &EnrichedActivity) -> Self {
        let mut values = BTreeMap::new();
        values.insert("promoName", activity.promo_name.clone());
        values.insert("promoUrl", activity.promo_url.clone());
        if let Some(progress) = activity.reward_progress.first() {
            values.insert("current", progress.current.to_string());
            values.insert("target", progress.target.to_string());
            values.insert("rewardType", progress.reward_type.clone());
            if let Some(expiry) = progress.expiration_date {
                values.insert("expirationDate", format_timestamp(expiry));
            }
        }
        Placeholders { values }
    }

    /// The value of a placeholder: `Some("")` for a known one without a value, `None` for an
    /// unknown name.
    pub fn value(&self, name: &str) -> Option<&str> {
        if let Some(value) = self.values.get(name) {
            return Some(value.as_str());
        }
        PLACEHOLDERS.contains(&name).then_some("")
    }
}

/// Renders `template`: each `{{name}}` replaced by its value.
pub fn render(template: &str, placeholders: &Placeholders) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some((before, after)) = rest.split_once("{{") {
        out.push_str(before);
        let Some((name, tail)) = after.split_once("}}") else {
            // Unclosed: the rest is text.
            out.push_str("{{");
            rest = after;
            break;
        };
        let name = name.trim();
        match placeholders.value(name) {
            Some(value) => out.push_str(value),
            None => {
                let shown: String = name.chars().take(MAX_NAME_IN_LOG).collect();
                tracing::warn!(placeholder = %shown, "unknown template placeholder rendered empty");
            }
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewards_shared::model::EnrichedProgress;
    use rewards_shared::testing::fixtures;

    fn activity(progress: bool) -> EnrichedActivity {
        EnrichedActivity {
            reward_progress: if progress {
                vec![
                    fixtures::progress(),
                    EnrichedProgress {
                        reward_scheme_id: "rs-200".into(),
                        activity_type: "FREE_BET".into(),
                        current: 9,
                        target: 10,
                        reward_type: "FREE_BET".into(),
                        product_reward_type: "SPORTS_FREE_BET".into(),
                        expiration_date: Some(fixtures::at("2026-12-01T00:00:00Z")),
                        ..fixtures::progress()
                    },
                ]
            } else {
                vec![]
            },
            ..fixtures::enriched_activity()
        }
    }

    #[test]
    fn renders_every_known_placeholder_from_the_first_entry() {
        let values = Placeholders::from_activity(&activity(true));
        assert_eq!(
            render(
                "{{current}} of {{target}} done in {{promoName}}: {{rewardType}} until \
                 {{expirationDate}} at {{ promoUrl }}",
                &values
            ),
            "3 of 5 done in Weekly Spins: FREE_SPINS until 2026-11-23T23:59:59.000Z at \
             https://example.test/promo"
        );
    }

    #[test]
    fn unknown_placeholders_render_empty() {
        let values = Placeholders::from_activity(&activity(true));
        assert_eq!(render("Hi {{accountId}}!{{nope}}", &values), "Hi !");
        assert_eq!(render("{{}}x", &values), "x");
    }

    #[test]
    fn progress_placeholders_are_empty_without_progress() {
        let values = Placeholders::from_activity(&activity(false));
        assert_eq!(
            render("[{{current}}/{{target}}] {{promoName}}", &values),
            "[/] Weekly Spins"
        );
    }

    #[test]
    fn text_without_placeholders_and_unclosed_braces_are_kept() {
        let values = Placeholders::from_activity(&activity(true));
        assert_eq!(render("plain £10 text", &values), "plain £10 text");
        assert_eq!(
            render("a {{current b {{target", &values),
            "a {{current b {{target"
        );
        assert_eq!(render("{{current}} }} {", &values), "3 }} {");
        assert_eq!(render("", &values), "");
    }
}
