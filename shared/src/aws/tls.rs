//! The one TLS configuration of a process: the trust roots are read once and one rustls
//! [`ClientConfig`] serves every HTTPS connection, to AWS (DynamoDB, SQS, through
//! [`super::http_client`]) and to the partner services (PPH, CSL, OSG, DES, through
//! [`crate::http::HttpSettings::build`]).
//!
//! Before, the AWS SDK's HTTP client and reqwest's platform verifier each loaded the native
//! roots, and the SDK parsed them again for every connector it built; with `SSL_CERT_DIR` set
//! (as on developer machines and CI images) that meant opening every file of the directory
//! twice before the first invocation.
//!
//! - **Which roots**: the platform's, as both stacks trusted before (`rustls-native-certs`):
//!   `SSL_CERT_FILE` and/or `SSL_CERT_DIR` when set, otherwise the distribution's bundle
//!   (`/etc/pki/tls/certs/ca-bundle.crt` on Lambda's `provided.al2023`). A private CA added to
//!   the system store (or named by `SSL_CERT_FILE`) keeps working; nothing is compiled in.
//! - **Crypto**: *ring* (rustls's `ring` provider), TLS 1.2 and 1.3, key exchange X25519, P-256
//!   and P-384. Not aws-lc-rs: its C library was a large part of every binary that speaks
//!   HTTPS and the longest step of a cold build, for a post-quantum hybrid key exchange
//!   (docs/decisions.md, "Binary size and cold start"). The provider is also installed as the process default, so
//!   that any rustls user that asks for the default finds this one.
//! - **When**: on first use, which is the set-up of the first client, before the function asks
//!   for its first invocation (not deferred to a request).

use std::sync::{Arc, OnceLock};

use rustls::{ClientConfig, RootCertStore};

static CLIENT_CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();

/// Why the TLS configuration could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TLS configuration: {0}")]
pub struct TlsError(pub String);

/// The process's TLS client configuration, built on the first call from the platform's trust
/// roots; later calls share it. Fails (every time) when no root certificate could be loaded.
pub fn client_config() -> Result<Arc<ClientConfig>, TlsError> {
    CLIENT_CONFIG
        .get_or_init(|| build(native_roots()?).map(Arc::new))
        .clone()
        .map_err(TlsError)
}

/// The platform's trust roots (`SSL_CERT_FILE` / `SSL_CERT_DIR`, else the system bundle).
/// Unreadable or unparsable entries are skipped, as both TLS stacks did; none at all is an
/// error.
fn native_roots() -> Result<RootCertStore, String> {
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (_added, ignored) = roots.add_parsable_certificates(loaded.certs);
    if ignored > 0 {
        tracing::warn!(
            ignored,
            "platform CA certificates were ignored (unparsable)"
        );
    }
    for error in &loaded.errors {
        tracing::warn!(%error, "error loading platform CA certificates");
    }
    if roots.is_empty() {
        return Err(format!(
            "no CA certificate found in the platform's trust store (SSL_CERT_FILE, \
             SSL_CERT_DIR or the system bundle){}",
            loaded
                .errors
                .first()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ));
    }
    Ok(roots)
}

/// A client configuration trusting `roots`: *ring*, the safe default protocol versions,
/// HTTP/1.1 offered by ALPN (both clients speak HTTP/1.1 with connection reuse).
fn build(roots: RootCertStore) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // Ignored when a default is already installed (by an earlier call or by the caller).
    let _ = rustls::crypto::CryptoProvider::install_default((*provider).clone());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_is_built_once_and_shared() {
        let first = client_config().expect("platform roots");
        let again = client_config().expect("platform roots");
        assert!(Arc::ptr_eq(&first, &again));
    }

    #[test]
    fn ring_is_the_crypto_and_the_process_default() {
        let config = client_config().expect("platform roots");
        let ring = rustls::crypto::ring::default_provider();
        let suites = |p: &rustls::crypto::CryptoProvider| {
            p.cipher_suites
                .iter()
                .map(|s| s.suite())
                .collect::<Vec<_>>()
        };
        assert_eq!(suites(config.crypto_provider()), suites(&ring));
        let installed = rustls::crypto::CryptoProvider::get_default().expect("installed");
        assert_eq!(suites(installed), suites(&ring));
    }
}
