//! CloudWatch Embedded Metric Format.
//!
//! Namespace from `METRICS_NAMESPACE` (default `RewardMessaging`). Every metric has the
//! dimensions `[Stage, Brand]`; `Dropped` and `DeadLettered` have `[Stage, Brand, Reason]`.
//! Names: `RecordsIn`, `Emitted`, `Dropped`, `DeadLettered`, `Delivered`, `Queued`, `Resent`,
//! `Deleted`, `BatchItemFailures`, `LatencyFromOriginMs`, `LatencyFromPreviousStageMs`,
//! `PphLatencyMs`, `CslLatencyMs`, `OsgLatencyMs`, `DesLatencyMs`, `DownstreamErrors`, per
//! partner `PphErrors`/`CslErrors`/`OsgErrors`/`DesErrors` and
//! `PphAuthRejected`/`CslAuthRejected`/`OsgAuthRejected`/`DesAuthRejected`, `CacheHits`,
//! `CacheMisses`.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

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
            let counts = self
                .counts
                .iter()
                .map(|(name, count)| (*name, Field::Count(*count)));
            let values = self
                .values
                .iter()
                .map(|(name, values)| (*name, Field::Values(values)));
            let fields: Vec<(&str, Field<'_>)> = counts.chain(values).collect();
            documents.push(document(
                namespace,
                stage,
                brand,
                None,
                timestamp_ms,
                &fields,
            ));
        }
        for ((name, reason), count) in &self.reason_counts {
            documents.push(document(
                namespace,
                stage,
                brand,
                Some(reason),
                timestamp_ms,
                &[(name, Field::Count(*count))],
            ));
        }
        documents
    }
}

/// One metric's value in a document: a count, or the values of a distribution.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(untagged)]
enum Field<'a> {
    Count(f64),
    Values(&'a [f64]),
}

impl Field<'_> {
    fn unit(self) -> &'static str {
        match self {
            Field::Count(_) => "Count",
            Field::Values(_) => "Milliseconds",
        }
    }
}

/// An EMF document, written straight to JSON (no intermediate `Value` tree).
struct Document<'a> {
    namespace: &'a str,
    stage: &'a str,
    brand: &'a str,
    reason: Option<&'a str>,
    timestamp_ms: i64,
    fields: &'a [(&'a str, Field<'a>)],
}

/// `_aws`: the timestamp and the metric directive.
struct Directive<'a>(&'a Document<'a>);

/// `Metrics`: each field's name and unit.
struct Definitions<'a>(&'a [(&'a str, Field<'a>)]);

/// `CloudWatchMetrics`: the one directive.
struct MetricDirective<'a>(&'a Document<'a>);

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("_aws", &Directive(self))?;
        map.serialize_entry("Stage", self.stage)?;
        map.serialize_entry("Brand", self.brand)?;
        if let Some(reason) = self.reason {
            map.serialize_entry("Reason", reason)?;
        }
        for (name, field) in self.fields {
            map.serialize_entry(name, field)?;
        }
        map.end()
    }
}

impl Serialize for Directive<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("Timestamp", &self.0.timestamp_ms)?;
        map.serialize_entry("CloudWatchMetrics", &[MetricDirective(self.0)])?;
        map.end()
    }
}

impl Serialize for MetricDirective<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let dimensions: &[&[&str]] = match self.0.reason {
            Some(_) => &[&["Stage", "Brand", "Reason"]],
            None => &[&["Stage", "Brand"]],
        };
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("Namespace", self.0.namespace)?;
        map.serialize_entry("Dimensions", dimensions)?;
        map.serialize_entry("Metrics", &Definitions(self.0.fields))?;
        map.end()
    }
}

/// One entry of `Metrics`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Definition<'a> {
    name: &'a str,
    unit: &'static str,
}

impl Serialize for Definitions<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (name, field) in self.0 {
            seq.serialize_element(&Definition {
                name,
                unit: field.unit(),
            })?;
        }
        seq.end()
    }
}

fn document(
    namespace: &str,
    stage: &str,
    brand: &str,
    reason: Option<&str>,
    timestamp_ms: i64,
    fields: &[(&str, Field<'_>)],
) -> String {
    let document = Document {
        namespace,
        stage,
        brand,
        reason,
        timestamp_ms,
        fields,
    };
    // Writing to a String cannot fail: every key is a string and every number finite or null.
    serde_json::to_string(&document).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

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
