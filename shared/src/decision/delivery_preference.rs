//! The delivery preference rule: by default `REWARD_AWARDED` is `FULL_SCREEN` and every other
//! message type `TOAST`. [`DeliveryPreferences`] overrides this per brand, from the JSON of
//! `DELIVERY_PREFERENCES`:
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

use crate::model::{DeliveryFormat, MessageType};

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

#[cfg(test)]
mod tests {
    use super::super::decide;
    use super::*;
    use crate::testing::fixtures::reward_message as message;

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
}
