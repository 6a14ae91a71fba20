//! HTTP clients of the services owned by other teams, and what they share: one connection-
//! reusing client per cold start, time-outs, bounded retries with backoff, call statistics for
//! the metrics, and an optional request signer (SigV4 for DES's function URL).

pub mod client;
pub mod csl;
pub mod des;
pub mod osg;
pub mod pph;
pub mod retry;
pub mod service;
pub mod signer;
pub mod sigv4;
pub mod stats;

pub use client::{HttpCallError, HttpSettings};
pub use csl::CslClient;
pub use des::DesClient;
pub use osg::OsgClient;
pub use pph::PphClient;
pub use retry::RetryPolicy;
pub use service::Service;
pub use signer::{RequestSigner, SigningError};
pub use sigv4::SigV4Signer;
pub use stats::CallStats;
