//! TIM's Lambda entry point: configuration and clients, built once per cold start.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use rewards_shared::config::{ProcessEnv, Vars};
use rewards_shared::lambda_event::SqsEvent;
use rewards_shared::ports::{DynamoTimStateStore, SqsDeadLetters, SqsPublisher, SystemClock};
use rewards_shared::telemetry::{logging, Telemetry};
use rewards_shared::{aws, stage::Stage};
use tim::{Config, Handler};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_vars(&Vars::new(&ProcessEnv))?;
    logging::init(&config.common.log_level);
    let sdk = aws::sdk_config().await;
    let sqs = aws::sqs_client(&sdk);
    let grace = chrono::Duration::days(i64::from(config.ttl_grace_days));
    let telemetry = Telemetry::for_lambda(Stage::Tim, &config.common);
    let publisher = SqsPublisher::new(sqs.clone(), config.queues());
    let handler = Arc::new(Handler::new(
        config.filter_tag,
        DynamoTimStateStore::new(aws::dynamodb_client(&sdk), config.table, grace),
        publisher,
        SqsDeadLetters::new(sqs, config.dead_letter_queue_url),
        SystemClock,
        telemetry,
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let handler = Arc::clone(&handler);
        async move { Ok::<_, Error>(handler.handle(&event.payload).await) }
    }))
    .await
}
