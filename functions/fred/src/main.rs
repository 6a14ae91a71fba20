//! FRED's Lambda entry point: configuration and clients, built once per cold start. DES is
//! called over its function URL with each request signed (SigV4, service `lambda`).

use std::sync::Arc;

use fred::{Config, Handler};
use rewards_shared::http::sigv4::LAMBDA_SERVICE;
use rewards_shared::http::{DesClient, HttpSettings, RetryPolicy, SigV4Signer};
use rewards_shared::lambda_event::SqsEvent;
use rewards_shared::ports::CommonPorts;
use rewards_shared::runtime::{self, Error};
use rewards_shared::telemetry::Telemetry;
use rewards_shared::{aws, stage::Stage};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = runtime::configure(Config::from_vars)?;
    let sdk = aws::sdk_config().await;
    let signer = SigV4Signer::from_sdk_config(&sdk, LAMBDA_SERVICE)?;
    let http = HttpSettings::default().build()?;
    let des =
        DesClient::new(http, &config.des_url, RetryPolicy::default()).with_signer(Arc::new(signer));
    let telemetry = Telemetry::for_lambda(Stage::Fred, &config.common)
        .with_call_stats("DesLatencyMs", des.stats());
    let ports = CommonPorts::for_lambda(&sdk, config.queues, telemetry);
    let handler = Handler::new(config.filter, des, ports);
    runtime::serve(handler, |handler, event: SqsEvent| async move {
        Ok(handler.handle(event).await)
    })
    .await
}
