//! Classification of AWS SDK errors, shared by the DynamoDB and SQS adapters.
//!
//! Every failed call ends as one of two answers (a failed condition is not a failure: the
//! adapters match `ConditionalCheckFailedException` on the typed error first, as a domain
//! answer):
//!
//! - [`AwsFailure::Unavailable`] — worth a retry later: throttling
//!   (`ProvisionedThroughputExceededException`, `ThrottlingException`, `RequestLimitExceeded`
//!   and their kin), any 5xx or HTTP 429, time-outs, dispatch failures (no response: the
//!   connection failed or broke) and unreadable responses;
//! - [`AwsFailure::Rejected`] — no retry can fix it: validation, missing table or queue,
//!   permissions, a request the SDK could not build. The text names the error code.
//!
//! The SDK has already retried the transient ones (standard retry mode, see [`crate::aws`]):
//! an `Unavailable` here means the retries ran out, and the record goes back to its source.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The SDK's error of an operation (the same type for every service client).
pub type SdkError<E> = aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>;

/// Error codes that mean "slow down", whatever the status code.
pub const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
    "TransactionInProgressException",
    "KMSThrottlingException",
    "AWS.SimpleQueueService.RequestThrottled",
];

/// Error codes of a service that is failing for a while, whatever the status code.
pub const TRANSIENT_CODES: &[&str] = &[
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    "AWS.SimpleQueueService.ServiceUnavailable",
];

/// What a failed AWS call means for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsFailure {
    /// Transient: retry later. Says what happened.
    Unavailable(String),
    /// Permanent: do not retry. Names the error code.
    Rejected(String),
}

impl AwsFailure {
    /// True for [`AwsFailure::Unavailable`].
    pub fn is_retryable(&self) -> bool {
        matches!(self, AwsFailure::Unavailable(_))
    }

    /// The description, whichever the kind.
    pub fn reason(&self) -> &str {
        match self {
            AwsFailure::Unavailable(reason) | AwsFailure::Rejected(reason) => reason,
        }
    }

    /// The description, whichever the kind.
    pub fn into_reason(self) -> String {
        match self {
            AwsFailure::Unavailable(reason) | AwsFailure::Rejected(reason) => reason,
        }
    }
}

/// Whether an error code (of a service error or a batch entry) is transient.
pub fn is_transient_code(code: &str) -> bool {
    THROTTLING_CODES.contains(&code) || TRANSIENT_CODES.contains(&code)
}

/// Classifies the error of a call to `operation`.
pub fn classify<E>(operation: &str, error: &SdkError<E>) -> AwsFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error {
        SdkError::TimeoutError(_) => AwsFailure::Unavailable(format!("{operation} timed out")),
        SdkError::DispatchFailure(failure) => {
            let kind = if failure.is_timeout() {
                "timed out"
            } else if failure.is_io() {
                "I/O error"
            } else {
                "dispatch failure"
            };
            AwsFailure::Unavailable(format!(
                "{operation} {kind}: {}",
                DisplayErrorContext(error)
            ))
        }
        SdkError::ResponseError(_) => AwsFailure::Unavailable(format!(
            "{operation} got an unreadable response: {}",
            DisplayErrorContext(error)
        )),
        SdkError::ConstructionFailure(_) => AwsFailure::Rejected(format!(
            "{operation} request could not be built: {}",
            DisplayErrorContext(error)
        )),
        SdkError::ServiceError(service) => {
            let status = service.raw().status();
            let code = error.code().unwrap_or("UnknownError");
            let message = error.message().unwrap_or("no message");
            let text = format!(
                "{operation} failed with {code} (HTTP {}): {message}",
                status.as_u16()
            );
            if is_transient_code(code) || status.is_server_error() || status.as_u16() == 429 {
                AwsFailure::Unavailable(text)
            } else {
                AwsFailure::Rejected(text)
            }
        }
        // `SdkError` is non-exhaustive: a new kind of failure is assumed transient.
        _ => AwsFailure::Unavailable(format!(
            "{operation} failed: {}",
            DisplayErrorContext(error)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;

    fn service_error(code: &str, status: u16) -> SdkError<PutItemError> {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("something")
            .build();
        let response = HttpResponse::new(status.try_into().expect("status code"), "".into());
        SdkError::service_error(PutItemError::generic(meta), response)
    }

    #[test]
    fn throttling_is_unavailable_whatever_the_status() {
        for code in [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
        ] {
            let failure = classify("PutItem", &service_error(code, 400));
            assert!(failure.is_retryable(), "{code}: {failure:?}");
            assert!(failure.reason().contains(code));
        }
    }

    #[test]
    fn server_errors_are_unavailable() {
        assert!(classify("PutItem", &service_error("Whatever", 503)).is_retryable());
        assert!(classify("PutItem", &service_error("InternalServerError", 500)).is_retryable());
    }

    #[test]
    fn timeouts_and_dispatch_failures_are_unavailable() {
        let timeout: SdkError<PutItemError> = SdkError::timeout_error("slow");
        assert!(classify("PutItem", &timeout).is_retryable());
        let dispatch: SdkError<PutItemError> = SdkError::dispatch_failure(
            aws_sdk_dynamodb::error::ConnectorError::io("refused".into()),
        );
        let failure = classify("PutItem", &dispatch);
        assert!(failure.is_retryable());
        assert!(failure.reason().contains("I/O error"), "{failure:?}");
    }

    #[test]
    fn validation_is_rejected_naming_the_code() {
        let failure = classify("PutItem", &service_error("ValidationException", 400));
        assert_eq!(
            failure,
            AwsFailure::Rejected(
                "PutItem failed with ValidationException (HTTP 400): something".into()
            )
        );
        let missing = classify("PutItem", &service_error("ResourceNotFoundException", 400));
        assert!(!missing.is_retryable());
    }
}
