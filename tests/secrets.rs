//! Partner API keys read at run time from Secrets Manager (moto), as DEC, BCG and MSQ read
//! them: the key is read once and cached; after a partner's 401 the secret is read again and
//! a rotated key is sent at once; a key the partner keeps rejecting is `AuthRejected`, counted
//! apart for its alarm. Run through `scripts/with-moto.sh cargo test -p rewards-tests`.

use std::sync::Arc;

use rewards_shared::http::{PphClient, RetryPolicy};
use rewards_shared::ports::{PromotionError, PromotionSource};
use rewards_shared::secrets::{self, ApiKey, SecretSource, SecretsManager};
use rewards_shared::testing::{ScriptedResponse, ScriptedServer};
use rewards_tests::{moto_config, unique};
use serde_json::json;

const PROMOTION: &str = r#"{"promoCode": "WEEKLY-SPINS", "promoName": "Weekly Spins",
    "promoUrl": "https://example.test/promo/weekly-spins", "tags": ["tim"], "brand": "skybet",
    "rewardSchemes": [{"rewardSchemeId": "rs-100", "products": ["casino"],
    "rewardType": "FREE_SPINS", "productRewardType": "CASINO_FREE_SPINS",
    "tierDefinition": {"tiers": [{"threshold": 5, "reward": "10 free spins"}]},
    "expirationDate": "2026-11-23T23:59:59.000Z"}]}"#;

/// A Secrets Manager client on moto and a new secret holding `{"apiKey": key}`; its ARN.
async fn secret_with(key: &str) -> (SecretsManager, String) {
    let config = moto_config().await;
    let http = reqwest_client();
    let manager = SecretsManager::from_sdk_config(http, &config).expect("signer");
    let name = unique("pph-api-key");
    let created = manager
        .call(
            &name,
            "CreateSecret",
            &json!({"Name": name, "SecretString": json!({"apiKey": key}).to_string()}),
        )
        .await
        .expect("CreateSecret");
    let arn = created["ARN"].as_str().expect("ARN").to_owned();
    (manager, arn)
}

/// Rotates the secret to a new version holding `key`.
async fn rotate(manager: &SecretsManager, arn: &str, key: &str) {
    manager
        .call(
            arn,
            "PutSecretValue",
            &json!({"SecretId": arn, "SecretString": json!({"apiKey": key}).to_string()}),
        )
        .await
        .expect("PutSecretValue");
}

fn reqwest_client() -> reqwest::Client {
    rewards_shared::http::HttpSettings::default()
        .build()
        .expect("client")
}

fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 2,
        base_delay: std::time::Duration::from_millis(1),
        max_delay: std::time::Duration::from_millis(2),
    }
}

fn pph(url: &str, manager: SecretsManager, arn: &str) -> PphClient {
    let source: Arc<dyn SecretSource> = Arc::new(manager);
    PphClient::new(reqwest_client(), url, None, quick_retry())
        .with_api_key(ApiKey::from_secret(source, arn))
}

fn keys_sent(server: &ScriptedServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|request| request.header("x-api-key").unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn the_key_comes_from_the_secret_and_a_rotated_key_is_picked_up_after_a_401() {
    let (manager, arn) = secret_with("key-1").await;
    let server = ScriptedServer::start(vec![
        ScriptedResponse::json(200, PROMOTION),
        ScriptedResponse::status(401),
        ScriptedResponse::json(200, PROMOTION),
    ])
    .await
    .expect("server");
    let client = pph(server.url(), manager.clone(), &arn);

    client.promotion("WEEKLY-SPINS").await.expect("first call");
    rotate(&manager, &arn, "key-2").await;
    client
        .promotion("WEEKLY-SPINS")
        .await
        .expect("the rotated key is read after the 401 and the call succeeds");

    assert_eq!(keys_sent(&server), ["key-1", "key-1", "key-2"]);
    let window = client.stats().drain();
    assert_eq!((window.errors, window.auth_rejected), (0, 0));
}

#[tokio::test]
async fn a_key_rejected_after_reading_the_secret_again_is_a_configuration_fault() {
    let (manager, arn) = secret_with("revoked").await;
    let server = ScriptedServer::start_with_fallback(vec![], ScriptedResponse::status(403))
        .await
        .expect("server");
    let client = pph(server.url(), manager, &arn);

    let error = client
        .promotion("WEEKLY-SPINS")
        .await
        .expect_err("rejected");
    assert!(
        matches!(error, PromotionError::AuthRejected { .. }),
        "not retried as an outage: {error:?}"
    );
    // The call with the cached key, then none again: the secret still holds the same key.
    assert_eq!(keys_sent(&server), ["revoked"]);
    let window = client.stats().drain();
    assert_eq!((window.errors, window.auth_rejected), (1, 1));
}

#[tokio::test]
async fn a_missing_secret_is_not_readable() {
    let config = moto_config().await;
    let manager = SecretsManager::from_sdk_config(reqwest_client(), &config).expect("signer");
    let error = manager
        .secret_string("arn:aws:secretsmanager:eu-west-1:123456789012:secret:missing-AbCdEf")
        .await
        .expect_err("missing");
    assert!(
        matches!(error, secrets::SecretError::Denied { .. }),
        "{error:?}"
    );
}
