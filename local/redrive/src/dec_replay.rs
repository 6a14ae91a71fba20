//! DEC's dead letters go back as the MSK event Lambda would have delivered: [`DecReplay`], and
//! its AWS implementation, a signed `Invoke` of DEC ([`LambdaDecReplay`]).

use futures::future::BoxFuture;
use rewards_shared::kafka::KafkaBatchResponse;

/// Replays one DEC dead letter as the one-record MSK event of its original Kafka record.
pub trait DecReplay: Send + Sync {
    /// Invokes DEC with `event` (an MSK event as JSON); its partial batch response, or why it
    /// failed.
    fn replay<'a>(
        &'a self,
        event: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<KafkaBatchResponse, String>>;
}

/// [`DecReplay`] in AWS: a synchronous `Invoke` of DEC's `live` alias (SigV4-signed call to the
/// Lambda API; endpoint `AWS_ENDPOINT_URL_LAMBDA`, else `AWS_ENDPOINT_URL`, else regional).
pub struct LambdaDecReplay {
    client: reqwest::Client,
    url: String,
    signer: rewards_shared::http::SigV4Signer,
}

impl LambdaDecReplay {
    /// Replays into function `function_name` (alias `live`) with `config`'s region and
    /// credentials.
    pub fn new(
        client: reqwest::Client,
        config: &aws_config::SdkConfig,
        function_name: &str,
    ) -> Result<Self, rewards_shared::http::SigningError> {
        let signer = rewards_shared::http::SigV4Signer::from_sdk_config(config, "lambda")?;
        let endpoint = std::env::var("AWS_ENDPOINT_URL_LAMBDA")
            .ok()
            .filter(|url| !url.is_empty())
            .or_else(|| config.endpoint_url().map(str::to_owned))
            .unwrap_or_else(|| format!("https://lambda.{}.amazonaws.com", signer.region()));
        let url = format!(
            "{}/2015-03-31/functions/{function_name}/invocations?Qualifier=live",
            endpoint.trim_end_matches('/')
        );
        Ok(LambdaDecReplay {
            client,
            url,
            signer,
        })
    }
}

impl DecReplay for LambdaDecReplay {
    fn replay<'a>(
        &'a self,
        event: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<KafkaBatchResponse, String>> {
        use rewards_shared::http::RequestSigner;
        Box::pin(async move {
            let mut request = self
                .client
                .post(&self.url)
                .header("content-type", "application/json")
                .body(event.to_string())
                .build()
                .map_err(|e| e.to_string())?;
            self.signer
                .sign(&mut request)
                .await
                .map_err(|e| e.to_string())?;
            let response = self
                .client
                .execute(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let function_error = response.headers().contains_key("x-amz-function-error");
            let body = response.text().await.map_err(|e| e.to_string())?;
            if status != 200 || function_error {
                return Err(format!("DEC invocation failed (status {status}): {body}"));
            }
            // An empty or null answer is a success (the mapping's success response).
            Ok(serde_json::from_str(&body).unwrap_or_default())
        })
    }
}
