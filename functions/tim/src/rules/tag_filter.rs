//! The tag filter: an activity whose promotion lacks TIM's filter tag (`TIM_FILTER_TAG`) is
//! dropped (`filtered`) before any state is written.

use rewards_shared::model::EnrichedActivity;

/// True when `activity` carries `filter_tag` (exact match) and goes on to the state rules.
pub fn passes(activity: &EnrichedActivity, filter_tag: &str) -> bool {
    activity.tags.iter().any(|tag| tag == filter_tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewards_shared::testing::fixtures;

    #[test]
    fn only_activities_tagged_with_the_filter_tag_pass() {
        let tagged = EnrichedActivity {
            tags: vec!["weekly".into(), "tim".into()],
            ..fixtures::enriched_activity()
        };
        assert!(passes(&tagged, "tim"));
        assert!(!passes(&tagged, "TIM"));
        let untagged = EnrichedActivity {
            tags: vec![],
            ..fixtures::enriched_activity()
        };
        assert!(!passes(&untagged, "tim"));
    }
}
