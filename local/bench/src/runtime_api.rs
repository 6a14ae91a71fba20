//! A local stand-in for the Lambda runtime API, and for the HTTP services the functions call,
//! on one loopback port: what a release `bootstrap` (or the Python peer) talks to when the
//! benchmark starts it as Lambda would.
//!
//! - `GET /2018-06-01/runtime/invocation/next` hands out the queued events one at a time (and
//!   notes when the first such request came: the end of the cold start); with nothing queued
//!   it holds the request, as Lambda does between invocations.
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `…/error`, `…/init/error` are
//!   counted.
//! - PPH `GET /promotions/{code}`, CSL `GET /templates/{brand}/{type}?locale=…`, OSG
//!   `POST /customers/{id}/messages` (200) and DES `POST /decisions` (a decision for every
//!   reward progress entry) answer from the mix's data.
//!
//! HTTP/1.1 with keep-alive, one thread per connection, bounded by the run: the server stops
//! when dropped.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::mix::Mix;

/// The data the HTTP stand-ins answer with.
#[derive(Debug, Clone, Default)]
pub struct Services {
    /// PPH: promotion JSON by code.
    pub promotions: HashMap<String, String>,
    /// CSL: template JSON by `{brand}/{messageType}/{locale}`.
    pub templates: HashMap<String, String>,
}

impl Services {
    /// The stand-ins' data from a mix.
    pub fn from_mix(mix: &Mix) -> Self {
        let promotions = mix
            .scenario
            .promotions
            .iter()
            .filter_map(|p| Some((p.promo_code.clone(), serde_json::to_string(p).ok()?)))
            .collect();
        let templates = mix
            .scenario
            .templates
            .iter()
            .map(|t| {
                (
                    format!("{}/{}/{}", t.brand, t.message_type.as_str(), t.locale),
                    json!({"title": t.title, "body": t.body}).to_string(),
                )
            })
            .collect();
        Services {
            promotions,
            templates,
        }
    }
}

#[derive(Default)]
struct State {
    /// The run (epoch) and its queued events: a `next` request of an earlier run's process
    /// (killed while it waited) must not take a later run's event.
    events: Mutex<(u64, VecDeque<(String, String)>)>,
    first_next: Mutex<Option<Instant>>,
    next_id: AtomicU64,
    responses: AtomicU64,
    errors: AtomicU64,
    init_errors: Mutex<Vec<String>>,
    last_error: Mutex<Option<String>>,
    stop: AtomicBool,
    services: Services,
}

/// The stand-in server.
pub struct StandIn {
    address: SocketAddr,
    state: Arc<State>,
}

/// Lambda's request id header and friends.
const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";

impl StandIn {
    /// Starts a server on a free loopback port.
    pub fn start(services: Services) -> std::io::Result<StandIn> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let state = Arc::new(State {
            services,
            ..State::default()
        });
        let accept_state = Arc::clone(&state);
        std::thread::spawn(move || {
            while !accept_state.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let state = Arc::clone(&accept_state);
                        std::thread::spawn(move || {
                            let _ = serve(stream, &state);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        Ok(StandIn { address, state })
    }

    /// `host:port`, as `AWS_LAMBDA_RUNTIME_API` wants it.
    pub fn authority(&self) -> String {
        self.address.to_string()
    }

    /// `http://host:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Starts a new run with these invocation payloads queued; waiting `next` requests of
    /// earlier runs are dropped.
    pub fn push(&self, payloads: impl IntoIterator<Item = String>) {
        if let Ok(mut events) = self.state.events.lock() {
            events.0 += 1;
            events.1.clear();
            for payload in payloads {
                let n = self.state.next_id.fetch_add(1, Ordering::SeqCst);
                events.1.push_back((format!("bench-{n:08}"), payload));
            }
        }
    }

    /// When the first `next` request came, if it did; forgets it.
    pub fn take_first_next(&self) -> Option<Instant> {
        self.state.first_next.lock().ok()?.take()
    }

    /// Responses and errors posted so far.
    pub fn answered(&self) -> (u64, u64) {
        (
            self.state.responses.load(Ordering::SeqCst),
            self.state.errors.load(Ordering::SeqCst),
        )
    }

    /// Init errors posted, and the last invocation error.
    pub fn problems(&self) -> (Vec<String>, Option<String>) {
        (
            self.state
                .init_errors
                .lock()
                .map(|e| e.clone())
                .unwrap_or_default(),
            self.state.last_error.lock().ok().and_then(|e| e.clone()),
        )
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
    }
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            return Ok(None);
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some(Request { method, path, body }))
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(&str, String)],
    body: &str,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        202 => "Accepted",
        404 => "Not Found",
        _ => "Status",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    stream.write_all(out.as_bytes())
}

fn serve(stream: TcpStream, state: &State) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader)? {
        if state.stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        route(&mut writer, state, request)?;
    }
    Ok(())
}

fn route(stream: &mut TcpStream, state: &State, request: Request) -> std::io::Result<()> {
    let json_type = ("content-type", "application/json".to_owned());
    let path = request.path.as_str();
    if request.method == "GET" && path == NEXT_PATH {
        if let Ok(mut first) = state.first_next.lock() {
            first.get_or_insert_with(Instant::now);
        }
        let epoch = state.events.lock().map_or(0, |e| e.0);
        loop {
            if state.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let next = match state.events.lock() {
                Ok(mut events) if events.0 == epoch => events.1.pop_front(),
                // A later run began: this request's process is gone.
                _ => return Ok(()),
            };
            if let Some((id, payload)) = next {
                let deadline = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() + 60_000);
                return respond(
                    stream,
                    200,
                    &[
                        json_type,
                        ("lambda-runtime-aws-request-id", id),
                        ("lambda-runtime-deadline-ms", deadline.to_string()),
                        (
                            "lambda-runtime-invoked-function-arn",
                            "arn:aws:lambda:us-east-1:000000000000:function:bench".to_owned(),
                        ),
                        (
                            "lambda-runtime-trace-id",
                            "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned(),
                        ),
                    ],
                    &payload,
                );
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    if let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") {
        if rest.ends_with("/response") {
            state.responses.fetch_add(1, Ordering::SeqCst);
        } else if rest.starts_with("init/") {
            if let Ok(mut errors) = state.init_errors.lock() {
                errors.push(String::from_utf8_lossy(&request.body).into_owned());
            }
        } else if rest.ends_with("/error") {
            state.errors.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut last) = state.last_error.lock() {
                *last = Some(String::from_utf8_lossy(&request.body).into_owned());
            }
        }
        return respond(stream, 202, &[json_type], "{}");
    }
    if let Some(code) = path.strip_prefix("/promotions/") {
        return match state.services.promotions.get(code) {
            Some(body) => respond(stream, 200, &[json_type], body),
            None => respond(stream, 404, &[json_type], "{}"),
        };
    }
    if let Some(rest) = path.strip_prefix("/templates/") {
        let (route, query) = rest.split_once('?').unwrap_or((rest, ""));
        let locale = query.strip_prefix("locale=").unwrap_or_default();
        return match state.services.templates.get(&format!("{route}/{locale}")) {
            Some(body) => respond(stream, 200, &[json_type], body),
            None => respond(stream, 404, &[json_type], "{}"),
        };
    }
    if path.starts_with("/customers/") {
        return respond(stream, 200, &[json_type], "{}");
    }
    if path.starts_with("/decisions") {
        let event: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let decisions: Vec<Value> = event
            .pointer("/data/rewardProgress")
            .and_then(Value::as_array)
            .map(|entries| {
                entries
                    .iter()
                    .map(|entry| {
                        json!({"rewardSchemeId": entry.get("rewardSchemeId"),
                            "activityType": entry.get("activityType"), "decision": "DECISION"})
                    })
                    .collect()
            })
            .unwrap_or_default();
        let body = json!({"hasDecision": true, "decisions": decisions,
            "deliveryPreference": "TOAST"});
        return respond(
            stream,
            200,
            &[json_type, ("has-decision", "true".to_owned())],
            &body.to_string(),
        );
    }
    respond(stream, 404, &[json_type], "{}")
}
