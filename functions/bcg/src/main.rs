//! BCG's Lambda entry point: configuration and clients, built once per cold start. CSL
//! templates are cached across invocations of a warm function.

use std::sync::Arc;

use bcg::{Config, Handler};
use rewards_shared::http::{CslClient, HttpSettings, OsgClient, RetryPolicy};
use rewards_shared::lambda_event::SqsEvent;
use rewards_shared::ports::{CachedTemplates, CommonPorts};
use rewards_shared::runtime::{self, Error};
use rewards_shared::telemetry::Telemetry;
use rewards_shared::{aws, stage::Stage};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = runtime::configure(Config::from_vars)?;
    let sdk = aws::sdk_config().await;
    let (http, retry) = (HttpSettings::default().build()?, RetryPolicy::default());
    let csl_key_secret = config.csl_api_key_secret_arn.clone();
    let csl = CslClient::for_lambda(http.clone(), &config.csl_url, csl_key_secret, retry, &sdk)?;
    let osg_key_secret = config.osg_api_key_secret_arn.clone();
    let osg = OsgClient::for_lambda(http, &config.osg_url, osg_key_secret, retry, &sdk)?;
    let telemetry = Telemetry::for_lambda(Stage::Bcg, &config.common)
        .with_call_stats("CslLatencyMs", csl.stats())
        .with_call_stats("OsgLatencyMs", osg.stats());
    let templates = Arc::new(CachedTemplates::new(csl, config.template_cache_ttl));
    let counted = Arc::clone(&templates);
    let telemetry = telemetry.with_cache(move || counted.stats());
    let settings = config.settings();
    let ports = CommonPorts::for_lambda(&sdk, config.queues, telemetry);
    let handler = Handler::new(settings, templates, osg, ports);
    runtime::serve(handler, |handler, event: SqsEvent| async move {
        Ok(handler.handle(event).await)
    })
    .await
}
