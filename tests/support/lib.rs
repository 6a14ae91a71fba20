//! Test support for the integration tests against a local AWS API (moto in server mode).
//!
//! Run the tests through `scripts/with-moto.sh cargo test -p rewards-tests`: the script starts
//! moto and sets `AWS_ENDPOINT_URL`, dummy credentials and the region. Without a reachable
//! endpoint the tests fail (never skip) and say how to run them.
//!
//! Tables and queues are created with the production key schemas and settings (see
//! `template.yaml`), under unique names per test so tests run in parallel on one server.
#![deny(missing_docs)]

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_runner::resources;
use aws_sdk_sqs::config::interceptors::{
    BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_sqs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sqs::error::BoxError;
use aws_sdk_sqs::types::MessageSystemAttributeName;

/// The command that runs these tests.
pub const HOW_TO_RUN: &str = "scripts/with-moto.sh cargo test -p rewards-tests";

/// The TTL attribute of both tables, and the receives after which a queue's messages move to
/// its dead-letter queue (`RedrivePolicy`), as the stack declares them.
pub use aws_runner::resources::{MAX_RECEIVE_COUNT, TTL_ATTRIBUTE};

/// The endpoint of the local AWS API, checked to answer. Panics, naming the command to run,
/// when `AWS_ENDPOINT_URL` is not set or nothing listens there.
pub fn moto_endpoint() -> String {
    let endpoint = match std::env::var("AWS_ENDPOINT_URL") {
        Ok(endpoint) if !endpoint.trim().is_empty() => endpoint,
        _ => panic!(
            "AWS_ENDPOINT_URL is not set: these tests need a local AWS API; run them with `{HOW_TO_RUN}`"
        ),
    };
    let authority = endpoint
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let addresses: Vec<SocketAddr> = authority
        .to_socket_addrs()
        .map(Iterator::collect)
        .unwrap_or_default();
    let reachable = addresses
        .iter()
        .any(|address| TcpStream::connect_timeout(address, Duration::from_secs(2)).is_ok());
    assert!(
        reachable,
        "AWS_ENDPOINT_URL={endpoint} does not answer: run these tests with `{HOW_TO_RUN}`"
    );
    endpoint
}

/// An SDK configuration talking to moto, with the production retry and time-out settings.
/// Each test loads its own: connection pools must not outlive a test's tokio runtime.
pub async fn moto_config() -> SdkConfig {
    let endpoint = moto_endpoint();
    let config = rewards_shared::aws::load_sdk_config().await;
    assert_eq!(
        config.endpoint_url(),
        Some(endpoint.as_str()),
        "the SDK configuration must honour AWS_ENDPOINT_URL"
    );
    config
}

/// A name no other test uses: `{prefix}-{random}`.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}

/// Creates TIM's table as in production: `pk` (S) hash key only, on-demand, TTL on
/// `expiresAt` ([`resources::TIM_TABLE`]).
pub async fn create_tim_table(client: &aws_sdk_dynamodb::Client, table: &str) {
    resources::create_table(client, table, &resources::TIM_TABLE, None)
        .await
        .expect("create TIM table");
}

/// Creates MSQ's table as in production: `pk` (S) hash and `sk` (S) range keys, on-demand,
/// TTL on `expiresAt` ([`resources::MSQ_TABLE`]).
pub async fn create_msq_table(client: &aws_sdk_dynamodb::Client, table: &str) {
    resources::create_table(client, table, &resources::MSQ_TABLE, None)
        .await
        .expect("create MSQ table");
}

/// A queue and its dead-letter queue.
#[derive(Debug, Clone)]
pub struct TestQueue {
    /// The queue's URL.
    pub url: String,
    /// The dead-letter queue's URL.
    pub dlq_url: String,
}

/// Creates a standard queue `{name}` with its dead-letter queue `{name}-dlq`, redriven after
/// [`MAX_RECEIVE_COUNT`] receives, as every queue of the stack.
pub async fn create_queue(client: &aws_sdk_sqs::Client, name: &str) -> TestQueue {
    create_queue_pair(client, name, false).await
}

/// Creates a FIFO queue `{name}.fifo` with its FIFO dead-letter queue `{name}-dlq.fifo`,
/// redriven after [`MAX_RECEIVE_COUNT`] receives, as the stack's ordered queues.
pub async fn create_fifo_queue(client: &aws_sdk_sqs::Client, name: &str) -> TestQueue {
    create_queue_pair(client, name, true).await
}

async fn create_queue_pair(client: &aws_sdk_sqs::Client, name: &str, fifo: bool) -> TestQueue {
    let (queue, dead_letter) =
        resources::create_queue_pair(client, name, fifo, Duration::from_secs(30), None)
            .await
            .expect("create queue and dead-letter queue");
    TestQueue {
        url: queue.url,
        dlq_url: dead_letter.url,
    }
}

/// Receives messages from `queue_url` until `expected` came or `wait` passed, with their
/// message attributes and receive count. Received messages stay invisible for a minute.
pub async fn receive(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
    expected: usize,
    wait: Duration,
) -> Vec<aws_sdk_sqs::types::Message> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut received = Vec::new();
    while received.len() < expected && tokio::time::Instant::now() < deadline {
        let output = client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .wait_time_seconds(0)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .expect("receive messages");
        let batch = output.messages.unwrap_or_default();
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        received.extend(batch);
    }
    received
}

/// A string message attribute of a received message.
pub fn attribute<'a>(message: &'a aws_sdk_sqs::types::Message, name: &str) -> Option<&'a str> {
    message.message_attributes()?.get(name)?.string_value()
}

/// Counts the requests a client sends (every attempt), by operation (`X-Amz-Target`).
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    calls: Arc<Mutex<Vec<String>>>,
    total: Arc<AtomicUsize>,
}

impl CallCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests sent so far.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }

    /// Requests sent so far for an operation (e.g. `SendMessageBatch`, `UpdateItem`).
    pub fn count(&self, operation: &str) -> usize {
        self.calls
            .lock()
            .map(|calls| calls.iter().filter(|name| *name == operation).count())
            .unwrap_or(0)
    }
}

fn operation(target: Option<&str>) -> String {
    target
        .and_then(|target| target.rsplit('.').next())
        .unwrap_or("?")
        .to_owned()
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = operation(context.request().headers().get("x-amz-target"));
        self.total.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(name);
        }
        Ok(())
    }
}

/// A DynamoDB client on `config` whose requests `counter` counts.
pub fn counted_dynamodb_client(
    config: &SdkConfig,
    counter: &CallCounter,
) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(config)
        .interceptor(counter.clone())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// An SQS client on `config` whose requests `counter` counts.
pub fn counted_sqs_client(config: &SdkConfig, counter: &CallCounter) -> aws_sdk_sqs::Client {
    let conf = aws_sdk_sqs::config::Builder::from(config)
        .interceptor(counter.clone())
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

/// Makes SQS reject chosen entries of `SendMessageBatch`, the way SQS itself does: it sets
/// `DelaySeconds` to 901 (over SQS's maximum of 900) on every entry whose body contains
/// `marker`, before the request is signed. SQS (and moto) then fail those entries alone with
/// `InvalidParameterValue`, `SenderFault: true`, and send the others — a real partial batch
/// failure, which the publisher never provokes itself.
#[derive(Debug, Clone)]
pub struct RejectEntries {
    /// Entries whose body contains this are made invalid.
    pub marker: String,
}

impl Intercept for RejectEntries {
    fn name(&self) -> &'static str {
        "RejectEntries"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        if operation(request.headers().get("x-amz-target")) != "SendMessageBatch" {
            return Ok(());
        }
        let Some(bytes) = request.body().bytes() else {
            return Err("SendMessageBatch body is not in memory".into());
        };
        let mut json: serde_json::Value = serde_json::from_slice(bytes)?;
        let mut changed = false;
        if let Some(entries) = json.get_mut("Entries").and_then(|e| e.as_array_mut()) {
            for entry in entries {
                let hit = entry
                    .get("MessageBody")
                    .and_then(|body| body.as_str())
                    .is_some_and(|body| body.contains(&self.marker));
                if hit {
                    entry["DelaySeconds"] = serde_json::json!(901);
                    changed = true;
                }
            }
        }
        if changed {
            let body = serde_json::to_vec(&json)?;
            request
                .headers_mut()
                .insert("content-length", body.len().to_string());
            *request.body_mut() = body.into();
        }
        Ok(())
    }
}

/// An SQS client on `config` with `interceptor` installed, its requests counted by `counter`.
pub fn sqs_client_with(
    config: &SdkConfig,
    counter: &CallCounter,
    interceptor: impl Intercept + 'static,
) -> aws_sdk_sqs::Client {
    let conf = aws_sdk_sqs::config::Builder::from(config)
        .interceptor(interceptor)
        .interceptor(counter.clone())
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

/// Every message waiting in `queue_url` now (received and deleted), in order, with every
/// system and message attribute.
pub async fn drain_queue(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Vec<aws_sdk_sqs::types::Message> {
    let mut drained = Vec::new();
    loop {
        let messages = client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            return drained;
        }
        for message in &messages {
            client
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
        drained.extend(messages);
    }
}
