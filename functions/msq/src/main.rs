//! MSQ's Lambda entry point: configuration and clients, built once per cold start. One
//! function for its three triggers: SQS `msq-inbound-queue` and `msq-inbound-delete`, and the
//! MSK customer-online topic ([`MsqEvent`] tells them apart).

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use msq::{Config, Handler, MsqEvent};
use rewards_shared::config::{ProcessEnv, Vars};
use rewards_shared::http::{HttpSettings, OsgClient, RetryPolicy};
use rewards_shared::ports::{DynamoMessageStore, SqsDeadLetters, SystemClock};
use rewards_shared::telemetry::{logging, Telemetry};
use rewards_shared::{aws, stage::Stage};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_vars(&Vars::new(&ProcessEnv))?;
    logging::init(&config.common.log_level);
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
    let handler = Arc::new(
        handler
            .with_online_topic(config.online_topic)
            .with_brand(config.common.brand),
    );
    let reported = config.kafka_report_batch_item_failures;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<MsqEvent>| {
        let handler = Arc::clone(&handler);
        // Boxed: the handler's future is deep enough to overflow the compiler's layout query.
        Box::pin(async move {
            let response = handler.handle(event.payload).await?;
            Ok::<_, Error>(response.for_mapping(reported)?)
        })
    }))
    .await
}
