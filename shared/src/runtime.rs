//! What every function's `main` does around its own wiring: read the configuration from the
//! process environment and start logging at its level, then serve Lambda invocations with
//! the one handler built per cold start.

use std::future::Future;
use std::sync::Arc;

pub use lambda_runtime::Error;
use lambda_runtime::{service_fn, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::{CommonConfig, ConfigError, ProcessEnv, Vars};
use crate::telemetry::logging;

/// Reads the function's configuration from the process environment with `read` (its
/// `Config::from_vars`) and starts JSON logging at the `LOG_LEVEL` every function reads: the
/// first step of every cold start.
pub fn configure<C>(
    read: impl FnOnce(&Vars<'_>) -> Result<C, ConfigError>,
) -> Result<C, ConfigError> {
    let vars = Vars::new(&ProcessEnv);
    let config = read(&vars)?;
    logging::init(&CommonConfig::from_vars(&vars)?.log_level);
    Ok(config)
}

/// Serves invocations until the runtime stops: each event's payload goes to `handle`, with
/// the handler built once for the cold start.
pub async fn serve<H, E, R, F, Fut>(handler: H, handle: F) -> Result<(), Error>
where
    E: DeserializeOwned,
    R: Serialize,
    F: Fn(Arc<H>, E) -> Fut,
    Fut: Future<Output = Result<R, Error>>,
{
    let handler = Arc::new(handler);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| {
        handle(Arc::clone(&handler), event.payload)
    }))
    .await
}
