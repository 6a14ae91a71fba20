//! MSQ's Lambda entry point: configuration and clients, built once per cold start. One
//! function for its three triggers: SQS `msq-inbound-queue` and `msq-inbound-delete`, and the
//! MSK customer-online topic ([`MsqEvent`] tells them apart).

use msq::{Config, Handler, MsqEvent};
use rewards_shared::http::{HttpSettings, OsgClient, RetryPolicy};
use rewards_shared::ports::{DynamoMessageStore, SqsDeadLetters, SystemClock};
use rewards_shared::runtime::{self, Error};
use rewards_shared::telemetry::Telemetry;
use rewards_shared::{aws, stage::Stage};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = runtime::configure(Config::from_vars)?;
    let sdk = aws::sdk_config().await;
    let (http, retry) = (HttpSettings::default().build()?, RetryPolicy::default());
    let key_secret = config.osg_api_key_secret_arn.clone();
    let osg = OsgClient::for_lambda(http, &config.osg_url, key_secret, retry, &sdk)?;
    let telemetry = Telemetry::for_lambda(Stage::Msq, &config.common)
        .with_call_stats("OsgLatencyMs", osg.stats());
    let handler = Handler::new(
        DynamoMessageStore::new(aws::dynamodb_client(&sdk), config.table),
        osg,
        SqsDeadLetters::new(aws::sqs_client(&sdk), config.dead_letter_queue_url),
        SystemClock,
        telemetry,
    );
    let handler = handler
        .with_online_topic(config.online_topic)
        .with_brand(config.common.brand);
    let reported = config.kafka_report_batch_item_failures;
    runtime::serve(handler, |handler, event: MsqEvent| {
        // Boxed: the handler's future is deep enough to overflow the compiler's layout query.
        Box::pin(async move { Ok(handler.handle(event).await?.for_mapping(reported)?) })
    })
    .await
}
