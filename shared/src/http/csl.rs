//! The CSL client: `GET {CSL_URL}/templates/{brand}/{messageType}?locale={locale}`.
//!
//! The locale is sent in BCP 47's canonical case (`pt-br` asks for `pt-BR`: locales compare
//! case-insensitively). 404 means CSL has no template for that locale (the caller falls back to the brand's
//! default locale); 5xx, 429, time-outs and connection failures are retried with bounded
//! backoff; a 200 whose body is not a template is malformed. Wrap it in
//! [`crate::ports::CachedTemplates`]: templates change rarely.

use std::sync::Arc;

use super::client::HttpCallError;
use super::service::{api_key_client, path_segment};
use crate::ports::{Template, TemplateError, TemplateQuery, TemplateSource};

api_key_client!(
    /// Client of the content service.
    CslClient
);

impl TemplateSource for CslClient {
    async fn template(
        &self,
        query: TemplateQuery<'_>,
    ) -> Result<Option<Arc<Template>>, TemplateError> {
        let url = self.service.url(&format!(
            "/templates/{}/{}?locale={}",
            path_segment(query.brand),
            query.message_type.as_str(),
            path_segment(&crate::locale::canonical(query.locale))
        ));
        let result = self.service.call(|| self.service.get_json(&url)).await;
        match result {
            Ok(template) => Ok(template.map(Arc::new)),
            Err(error @ HttpCallError::MalformedBody { .. }) => {
                Err(TemplateError::malformed(query, error.to_string()))
            }
            Err(error) => Err(TemplateError::unavailable(query, error.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Retryable;
    use std::time::Duration;

    use super::*;
    use crate::model::MessageType;
    use crate::testing::{ScriptedResponse, ScriptedServer};

    const TEMPLATE: &str =
        r#"{"title": "Keep going!", "body": "{{current}} of {{target}} done in {{promoName}}"}"#;

    /// Identifiers with every character that could break a URL path, and their encodings.
    const ODD_IDS: [(&str, &str); 6] = [
        ("WEEK#1", "WEEK%231"),
        ("a/b", "a%2Fb"),
        ("100%", "100%25"),
        ("what?", "what%3F"),
        ("two words", "two%20words"),
        ("Ü-😀", "%C3%9C-%F0%9F%98%80"),
    ];

    fn client(url: &str) -> CslClient {
        let (client, retry) = crate::http::service::quick();
        CslClient::new(client, url, Some("key".into()), retry)
    }

    #[tokio::test]
    async fn ok_returns_the_template() {
        let server = ScriptedServer::start(vec![ScriptedResponse::json(200, TEMPLATE)])
            .await
            .expect("server");
        let template = client(server.url())
            .template(TemplateQuery::new("skybet", MessageType::Progress, "en-GB"))
            .await
            .expect("ok")
            .expect("some");
        assert_eq!(template.title, "Keep going!");
        let requests = server.requests();
        assert_eq!(requests[0].path, "/templates/skybet/PROGRESS?locale=en-GB");
        assert_eq!(requests[0].header("x-api-key"), Some("key"));
    }

    #[tokio::test]
    async fn odd_brands_travel_percent_encoded_and_locales_in_canonical_case() {
        for (brand, encoded) in ODD_IDS {
            let server = ScriptedServer::start(vec![ScriptedResponse::json(200, TEMPLATE)])
                .await
                .expect("server");
            client(server.url())
                .template(TemplateQuery::new(brand, MessageType::Progress, "pt-br"))
                .await
                .expect("ok")
                .expect("some");
            assert_eq!(
                server.requests()[0].path,
                format!("/templates/{encoded}/PROGRESS?locale=pt-BR")
            );
        }
    }

    #[tokio::test]
    async fn not_found_is_no_template_for_the_locale() {
        let server = ScriptedServer::start(vec![]).await.expect("server");
        let found = client(server.url())
            .template(TemplateQuery::new("skybet", MessageType::OptIn, "fr FR"))
            .await
            .expect("ok");
        assert!(found.is_none());
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].path, "/templates/skybet/OPT_IN?locale=fr%20FR");
    }

    #[tokio::test]
    async fn server_error_then_ok_is_retried() {
        let server = ScriptedServer::start(vec![
            ScriptedResponse::status(500),
            ScriptedResponse::json(200, TEMPLATE),
        ])
        .await
        .expect("server");
        assert!(client(server.url())
            .template(TemplateQuery::new("skybet", MessageType::Progress, "en-GB"))
            .await
            .expect("ok")
            .is_some());
        assert_eq!(server.requests().len(), 2);
    }

    #[tokio::test]
    async fn time_outs_outlive_the_retries_as_unavailable() {
        let slow = ScriptedResponse::json(200, TEMPLATE).delayed(Duration::from_millis(500));
        let server = ScriptedServer::start_with_fallback(vec![], slow)
            .await
            .expect("server");
        let error = client(server.url())
            .template(TemplateQuery::new("skybet", MessageType::Progress, "en-GB"))
            .await
            .expect_err("timeout");
        assert!(error.is_retryable(), "{error}");
        assert!(error.to_string().contains("timed out"), "{error}");
        assert_eq!(server.requests().len(), 3);
    }

    #[tokio::test]
    async fn malformed_body_is_not_retried() {
        let server = ScriptedServer::start(vec![ScriptedResponse::json(200, r#"{"title": 1}"#)])
            .await
            .expect("server");
        let error = client(server.url())
            .template(TemplateQuery::new("skybet", MessageType::Progress, "en-GB"))
            .await
            .expect_err("malformed");
        assert!(matches!(error, TemplateError::Malformed { .. }), "{error}");
        assert_eq!(server.requests().len(), 1);
    }
}
