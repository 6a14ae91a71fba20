//! The delivery-preference rule: BCG drops a message DES gave no delivery preference
//! (outcome `dropped`, reason `no-delivery-preference`). DES gives none when the brand's
//! configuration maps the message type to no format; BCG never picks one itself.

use rewards_shared::model::{Decision, DeliveryFormat};

/// The format to show the message in, or `None` when it must be dropped.
pub fn delivery_format(decision: &Decision) -> Option<DeliveryFormat> {
    decision.delivery_preference
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(preference: Option<DeliveryFormat>) -> Decision {
        Decision {
            has_decision: true,
            decisions: vec![],
            delivery_preference: preference,
        }
    }

    #[test]
    fn the_preference_des_gave_is_the_format() {
        for format in [DeliveryFormat::Toast, DeliveryFormat::FullScreen] {
            assert_eq!(delivery_format(&decision(Some(format))), Some(format));
        }
    }

    #[test]
    fn no_preference_means_no_format() {
        assert_eq!(delivery_format(&decision(None)), None);
    }
}
