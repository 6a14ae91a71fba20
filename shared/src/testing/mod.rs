//! Test support shared by the crates' tests (feature `testing`): the [`fixtures`] every
//! stage's tests start from, a scripted HTTP server on `127.0.0.1:0` so the HTTP clients are
//! tested against real sockets, and log lines captured in memory.

pub mod fixtures;
mod http_server;
mod logs;

pub use http_server::{RecordedRequest, ScriptedResponse, ScriptedServer};
pub use logs::CapturedLogs;
