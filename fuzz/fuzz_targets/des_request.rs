//! A request body through DES's handler: 200 or 4xx, never 5xx, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rewards_shared::decision::DeliveryPreferences;
use rewards_shared::ports::{ManualClock, MemoryOutcomes};
use rewards_shared::stage::Stage;
use rewards_shared::telemetry::{MetricsOut, Telemetry};

fuzz_target!(|data: &[u8]| {
    let Ok(request) = lambda_http::http::Request::builder()
        .method("POST")
        .uri("https://des.example/decisions")
        .body(lambda_http::Body::Binary(data.to_vec()))
    else {
        return;
    };
    let handler = des::Handler::new(
        DeliveryPreferences::default(),
        ManualClock::new(chrono::DateTime::<chrono::Utc>::MIN_UTC),
        Telemetry::new(
            Stage::Des,
            "fuzz",
            "RewardMessaging",
            std::sync::Arc::new(MemoryOutcomes::new()),
            MetricsOut::Discard,
        ),
    );
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        return;
    };
    let response = runtime.block_on(handler.handle(request));
    assert!(
        response.status().as_u16() < 500,
        "DES answered {}",
        response.status()
    );
});
