//! The stand-ins of the services other teams own, for a scenario run: PPH serves the
//! scenario's promotions, CSL its templates, OSG answers for who is onsite.

use std::sync::Arc;

use rewards_shared::ports::{MemoryOnsiteGateway, MemoryPromotions, MemoryTemplates, Template};

use crate::scenario::Scenario;

/// The stand-ins of the services other teams own, built from a scenario: PPH serves its
/// promotions, CSL its templates, OSG answers 200 for who is onsite.
pub struct StandIns {
    /// PPH.
    pub promotions: Arc<MemoryPromotions>,
    /// CSL.
    pub templates: Arc<MemoryTemplates>,
    /// OSG; the runner switches customers on and offline through it.
    pub onsite: Arc<MemoryOnsiteGateway>,
}

impl StandIns {
    /// The stand-ins of `scenario`.
    pub fn new(scenario: &Scenario) -> Self {
        let templates = Arc::new(MemoryTemplates::new());
        for template in &scenario.templates {
            templates.insert(
                &template.brand,
                template.message_type,
                &template.locale,
                Template {
                    title: template.title.clone(),
                    body: template.body.clone(),
                },
            );
        }
        StandIns {
            promotions: Arc::new(MemoryPromotions::new(scenario.promotions.clone())),
            templates,
            onsite: Arc::new(MemoryOnsiteGateway::new(scenario.onsite.iter().cloned())),
        }
    }
}
