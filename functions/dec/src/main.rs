//! DEC's Lambda entry point: configuration and clients, built once per cold start.

use std::sync::Arc;

use dec::{Config, Handler};
use rewards_shared::http::{HttpSettings, PphClient, RetryPolicy};
use rewards_shared::lambda_event::KafkaEvent;
use rewards_shared::ports::{CachedPromotions, CommonPorts};
use rewards_shared::runtime::{self, Error};
use rewards_shared::telemetry::Telemetry;
use rewards_shared::{aws, stage::Stage};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = runtime::configure(Config::from_vars)?;
    let sdk = aws::sdk_config().await;
    let (http, retry) = (HttpSettings::default().build()?, RetryPolicy::default());
    let key_secret = config.pph_api_key_secret_arn.clone();
    let pph = PphClient::for_lambda(http, &config.pph_url, key_secret, retry, &sdk)?;
    let telemetry = Telemetry::for_lambda(Stage::Dec, &config.common)
        .with_call_stats("PphLatencyMs", pph.stats());
    let promotions = Arc::new(CachedPromotions::new(pph, config.promotion_cache_ttl));
    let counted = Arc::clone(&promotions);
    let telemetry = telemetry.with_cache(move || counted.stats());
    let ports = CommonPorts::for_lambda(&sdk, config.queues, telemetry);
    let handler = Handler::new(config.cpp_topic, config.eppm_topic, promotions, ports);
    let reported = config.kafka_report_batch_item_failures;
    runtime::serve(handler, |handler, event: KafkaEvent| async move {
        Ok(handler.handle(&event).await?.for_mapping(reported)?)
    })
    .await
}
