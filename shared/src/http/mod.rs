//! HTTP clients of the services owned by other teams, and what they share: one connection-
//! reusing client per cold start, time-outs, bounded retries with backoff, call statistics for
//! the metrics, and an optional request signer (SigV4 for DES's function URL).

pub mod retry;
pub mod stats;

pub use retry::RetryPolicy;
pub use stats::CallStats;

/// Declares each of its items only when the `http` feature is on: the clients and what they
/// share need an HTTPS stack, the retry policy and call statistics do not.
macro_rules! with_http_feature {
    ($($item:item)*) => {
        $(
            #[cfg(feature = "http")]
            $item
        )*
    };
}

with_http_feature! {
    pub mod client;
    pub mod csl;
    pub mod des;
    pub mod osg;
    pub mod pph;
    pub mod service;
    pub mod signer;

    pub use client::{HttpCallError, HttpSettings};
    pub use csl::CslClient;
    pub use des::DesClient;
    pub use osg::OsgClient;
    pub use pph::PphClient;
    pub use service::Service;
    pub use signer::{RequestSigner, SigningError};
}

#[cfg(feature = "sigv4")]
pub mod sigv4;
#[cfg(feature = "sigv4")]
pub use sigv4::SigV4Signer;
