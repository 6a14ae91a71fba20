//! TIM's Lambda entry point: configuration and clients, built once per cold start.

use rewards_shared::lambda_event::SqsEvent;
use rewards_shared::ports::{CommonPorts, DynamoTimStateStore};
use rewards_shared::runtime::{self, Error};
use rewards_shared::telemetry::Telemetry;
use rewards_shared::{aws, stage::Stage};
use tim::{Config, Handler};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = runtime::configure(Config::from_vars)?;
    let sdk = aws::sdk_config().await;
    let grace = chrono::Duration::days(i64::from(config.ttl_grace_days));
    let telemetry = Telemetry::for_lambda(Stage::Tim, &config.common);
    let store = DynamoTimStateStore::new(aws::dynamodb_client(&sdk), config.table, grace);
    let ports = CommonPorts::for_lambda(&sdk, config.queues, telemetry);
    let handler = Handler::new(config.filter_tag, store, ports);
    runtime::serve(handler, |handler, event: SqsEvent| async move {
        Ok(handler.handle(&event).await)
    })
    .await
}
