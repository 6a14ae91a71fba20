//! HTTP clients of the services owned by other teams, and what they share: one connection-
//! reusing client per cold start, time-outs, bounded retries with backoff, call statistics for
//! the metrics, and an optional request signer (SigV4 for DES's function URL).

#[cfg(feature = "http")]
pub mod client;
#[cfg(feature = "http")]
pub mod csl;
#[cfg(feature = "http")]
pub mod des;
#[cfg(feature = "http")]
pub mod osg;
#[cfg(feature = "http")]
pub mod pph;
pub mod retry;
#[cfg(feature = "http")]
pub mod service;
#[cfg(feature = "http")]
pub mod signer;
#[cfg(feature = "sigv4")]
pub mod sigv4;
pub mod stats;

#[cfg(feature = "http")]
pub use client::{HttpCallError, HttpSettings};
#[cfg(feature = "http")]
pub use csl::CslClient;
#[cfg(feature = "http")]
pub use des::DesClient;
#[cfg(feature = "http")]
pub use osg::OsgClient;
#[cfg(feature = "http")]
pub use pph::PphClient;
pub use retry::RetryPolicy;
#[cfg(feature = "http")]
pub use service::Service;
#[cfg(feature = "http")]
pub use signer::{RequestSigner, SigningError};
#[cfg(feature = "sigv4")]
pub use sigv4::SigV4Signer;
pub use stats::CallStats;
