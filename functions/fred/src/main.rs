//! FRED's Lambda entry point: configuration and clients, built once per cold start. DES is
//! called over its function URL with each request signed (SigV4, service `lambda`).

use std::sync::Arc;

use fred::{Config, Handler};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use rewards_shared::config::{ProcessEnv, Vars};
use rewards_shared::http::sigv4::LAMBDA_SERVICE;
use rewards_shared::http::{DesClient, HttpSettings, RetryPolicy, SigV4Signer};
use rewards_shared::lambda_event::SqsEvent;
use rewards_shared::ports::{SqsDeadLetters, SqsPublisher, SystemClock};
use rewards_shared::telemetry::{logging, Telemetry};
use rewards_shared::{aws, stage::Stage};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_vars(&Vars::new(&ProcessEnv))?;
    logging::init(&config.common.log_level);
    let sdk = aws::sdk_config().await;
    let sqs = aws::sqs_client(&sdk);
    let signer = SigV4Signer::from_sdk_config(&sdk, LAMBDA_SERVICE)?;
    let http = HttpSettings::default().build()?;
    let des =
        DesClient::new(http, &config.des_url, RetryPolicy::default()).with_signer(Arc::new(signer));
    let telemetry = Telemetry::for_lambda(Stage::Fred, &config.common)
        .with_call_stats("DesLatencyMs", des.stats());
    let publisher = SqsPublisher::new(sqs.clone(), config.queues());
    let handler = Arc::new(Handler::new(
        config.filter,
        des,
        publisher,
        SqsDeadLetters::new(sqs, config.dead_letter_queue_url),
        SystemClock,
        telemetry,
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let handler = Arc::clone(&handler);
        async move { Ok::<_, Error>(handler.handle(event.payload).await) }
    }))
    .await
}
