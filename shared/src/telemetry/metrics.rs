//! CloudWatch Embedded Metric Format.
//!
//! Namespace from `METRICS_NAMESPACE` (default `RewardMessaging`). Every metric has the
//! dimensions `[Stage, Brand]`; `Dropped` and `DeadLettered` have `[Stage, Brand, Reason]`.
//! Names: `RecordsIn`, `Emitted`, `Dropped`, `DeadLettered`, `Delivered`, `Queued`, `Resent`,
//! `Deleted`, `BatchItemFailures`, `LatencyFromOriginMs`, `LatencyFromPreviousStageMs`,
//! `PphLatencyMs`, `CslLatencyMs`, `OsgLatencyMs`, `DesLatencyMs`, `DownstreamErrors`,
//! `CacheHits`, `CacheMisses`, `UnpublishedMarked` (TIM).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// EMF takes at most 100 values per metric in one document.
const MAX_VALUES: usize = 100;

/// Metrics of one invocation, not yet written.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MetricsBatch {
    counts: BTreeMap<&'static str, f64>,
    reason_counts: BTreeMap<(&'static str, String), f64>,
    values: BTreeMap<&'static str, Vec<f64>>,
}

impl MetricsBatch {
    /// Adds `n` to a count.
    pub fn count(&mut self, name: &'static str, n: f64) {
        *self.counts.entry(name).or_default() += n;
    }

    /// Adds one to a count with a `Reason` dimension.
    pub fn count_reason(&mut self, name: &'static str, reason: &str) {
        *self
            .reason_counts
            .entry((name, reason.to_owned()))
            .or_default() += 1.0;
    }

    /// Records one value (milliseconds) of a distribution.
    pub fn value(&mut self, name: &'static str, value: f64) {
        let values = self.values.entry(name).or_default();
        if values.len() < MAX_VALUES {
            values.push(value);
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty() && self.reason_counts.is_empty() && self.values.is_empty()
    }

    /// The EMF documents: one for the `[Stage, Brand]` metrics, one per reason.
    pub fn to_emf(
        &self,
        namespace: &str,
        stage: &str,
        brand: &str,
        timestamp_ms: i64,
    ) -> Vec<String> {
        let mut documents = Vec::new();
        if !self.counts.is_empty() || !self.values.is_empty() {
            let mut fields = Map::new();
            let mut definitions = Vec::new();
            for (name, count) in &self.counts {
                definitions.push(json!({"Name": name, "Unit": "Count"}));
                fields.insert((*name).to_owned(), json!(count));
            }
            for (name, values) in &self.values {
                definitions.push(json!({"Name": name, "Unit": "Milliseconds"}));
                fields.insert((*name).to_owned(), json!(values));
            }
            documents.push(document(
                namespace,
                stage,
                brand,
                None,
                timestamp_ms,
                definitions,
                fields,
            ));
        }
        for ((name, reason), count) in &self.reason_counts {
            let mut fields = Map::new();
            fields.insert((*name).to_owned(), json!(count));
            let definitions = vec![json!({"Name": name, "Unit": "Count"})];
            documents.push(document(
                namespace,
                stage,
                brand,
                Some(reason),
                timestamp_ms,
                definitions,
                fields,
            ));
        }
        documents
    }
}

fn document(
    namespace: &str,
    stage: &str,
    brand: &str,
    reason: Option<&str>,
    timestamp_ms: i64,
    definitions: Vec<Value>,
    mut fields: Map<String, Value>,
) -> String {
    let dimensions = match reason {
        Some(_) => json!([["Stage", "Brand", "Reason"]]),
        None => json!([["Stage", "Brand"]]),
    };
    fields.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": dimensions, "Metrics": definitions}]
        }),
    );
    fields.insert("Stage".to_owned(), json!(stage));
    fields.insert("Brand".to_owned(), json!(brand));
    if let Some(reason) = reason {
        fields.insert("Reason".to_owned(), json!(reason));
    }
    Value::Object(fields).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_documents_have_the_cloudwatch_shape() {
        let mut batch = MetricsBatch::default();
        batch.count("RecordsIn", 3.0);
        batch.value("LatencyFromOriginMs", 12.5);
        batch.count_reason("Dropped", "duplicate");
        let documents = batch.to_emf("RewardMessaging", "tim", "skybet", 1_700_000_000_000);
        assert_eq!(documents.len(), 2);

        let main: Value = serde_json::from_str(&documents[0]).expect("json");
        let directive = &main["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(main["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(directive["Namespace"], "RewardMessaging");
        assert_eq!(directive["Dimensions"], json!([["Stage", "Brand"]]));
        assert_eq!(main["Stage"], "tim");
        assert_eq!(main["Brand"], "skybet");
        assert_eq!(main["RecordsIn"], 3.0);
        assert_eq!(main["LatencyFromOriginMs"], json!([12.5]));
        for definition in directive["Metrics"].as_array().expect("metrics") {
            let name = definition["Name"].as_str().expect("name");
            assert!(main.get(name).is_some(), "metric {name} has a value");
        }

        let reason: Value = serde_json::from_str(&documents[1]).expect("json");
        assert_eq!(
            reason["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Stage", "Brand", "Reason"]])
        );
        assert_eq!(reason["Reason"], "duplicate");
        assert_eq!(reason["Dropped"], 1.0);
    }

    #[test]
    fn values_are_capped_per_document() {
        let mut batch = MetricsBatch::default();
        for i in 0..150 {
            batch.value("OsgLatencyMs", f64::from(i));
        }
        let documents = batch.to_emf("N", "bcg", "b", 0);
        let main: Value = serde_json::from_str(&documents[0]).expect("json");
        assert_eq!(main["OsgLatencyMs"].as_array().map(Vec::len), Some(100));
    }
}
