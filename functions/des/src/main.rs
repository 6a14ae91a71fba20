//! DES's Lambda entry point: configuration built once per cold start, then one HTTP request
//! per invocation from the function URL (`AuthType: AWS_IAM`; Lambda checks the signature
//! before the function runs).

use std::sync::Arc;

use des::{Config, Handler};
use lambda_http::{service_fn, Error, Request};
use rewards_shared::ports::SystemClock;
use rewards_shared::runtime;
use rewards_shared::stage::Stage;
use rewards_shared::telemetry::Telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = runtime::configure(Config::from_vars)?;
    let telemetry = Telemetry::for_lambda(Stage::Des, &config.common);
    let handler = Arc::new(Handler::new(config.preferences, SystemClock, telemetry));
    lambda_http::run(service_fn(move |request: Request| {
        let handler = Arc::clone(&handler);
        async move { Ok::<_, Error>(handler.handle(request).await) }
    }))
    .await
}
