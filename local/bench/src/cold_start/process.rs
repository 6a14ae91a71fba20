//! One release binary run as Lambda runs a `bootstrap`: spawned, fed, its memory read, stopped.

use super::*;

/// What one process did.
#[derive(Debug, Clone, Default)]
pub struct ProcessRun {
    /// Process start to its first `next` request.
    pub cold_start: Option<Duration>,
    /// Peak resident set size, bytes.
    pub peak_rss: Option<u64>,
    /// The process's own CPU time, user + system.
    pub cpu: Duration,
    /// Records in the invocations it answered.
    pub records: usize,
    /// Invocations answered with a response.
    pub responses: u64,
    /// Invocations answered with an error.
    pub errors: u64,
    /// Bytes it wrote to stdout and stderr (its log lines and EMF metrics).
    pub output_bytes: u64,
    /// Why it did not finish, if it did not.
    pub problem: Option<String>,
}

impl ProcessRun {
    /// CPU µs per record.
    pub fn cpu_micros_per_record(&self) -> Option<f64> {
        (self.records > 0 && self.problem.is_none())
            .then(|| self.cpu.as_secs_f64() * 1e6 / self.records as f64)
    }
}

/// Starts `command` against `stand_in` with `payloads` queued, waits until every payload was
/// answered (or the process died, or [`RUN_TIMEOUT`]), reads its peak RSS, stops it with
/// SIGTERM (SIGKILL after two seconds) and reads its CPU time.
pub fn run_process(
    mut command: Command,
    stand_in: &StandIn,
    payloads: Vec<String>,
    records: usize,
) -> ProcessRun {
    let invocations = payloads.len() as u64;
    stand_in.take_first_next();
    let (before_responses, before_errors) = stand_in.answered();
    stand_in.push(payloads);
    command
        .env("AWS_LAMBDA_RUNTIME_API", stand_in.authority())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            return ProcessRun {
                problem: Some(format!("cannot start: {error}")),
                ..ProcessRun::default()
            }
        }
    };
    let output_bytes = Arc::new(AtomicU64::new(0));
    let tail = Arc::new(Mutex::new(String::new()));
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let (bytes, tail) = (Arc::clone(&output_bytes), Arc::clone(&tail));
        std::thread::spawn(move || drain_output(stream, &bytes, &tail));
    }
    let pid = child.id() as libc::pid_t;
    let mut run = ProcessRun {
        records,
        ..ProcessRun::default()
    };
    loop {
        let (responses, errors) = stand_in.answered();
        if responses + errors - before_responses - before_errors >= invocations {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let (init, _) = stand_in.problems();
            run.problem = Some(format!(
                "exited ({status}) after {} of {invocations} invocations{}{}",
                responses - before_responses,
                init.first()
                    .map(|e| format!("; init error: {e}"))
                    .unwrap_or_default(),
                last_lines(&tail)
            ));
            break;
        }
        if started.elapsed() > RUN_TIMEOUT {
            run.problem = Some(format!("timed out after {RUN_TIMEOUT:?}"));
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    run.cold_start = stand_in
        .take_first_next()
        .map(|first| first.saturating_duration_since(started));
    let (responses, errors) = stand_in.answered();
    run.responses = responses - before_responses;
    run.errors = errors - before_errors;
    let hwm = high_water_mark(pid);
    let (cpu, max_rss) = stop(pid, &mut child);
    run.cpu = cpu;
    // VmHWM is the binary's own high-water mark. `ru_maxrss` is only the fallback: it also
    // counts the moment between fork and exec, when the child still shares the benchmark's
    // own pages (well over 100 MB with the mix in memory).
    run.peak_rss = hwm.or(max_rss);
    if run.errors > 0 && run.problem.is_none() {
        let (_, last) = stand_in.problems();
        run.problem = Some(format!(
            "{} invocations failed; last: {}",
            run.errors,
            last.unwrap_or_default()
        ));
    }
    std::thread::sleep(Duration::from_millis(50));
    run.output_bytes = output_bytes.load(Ordering::SeqCst);
    run
}

fn drain_output(mut stream: Box<dyn Read + Send>, bytes: &AtomicU64, tail: &Mutex<String>) {
    let mut buffer = [0u8; 8192];
    while let Ok(n) = stream.read(&mut buffer) {
        if n == 0 {
            break;
        }
        bytes.fetch_add(n as u64, Ordering::SeqCst);
        if let Ok(mut tail) = tail.lock() {
            tail.push_str(&String::from_utf8_lossy(&buffer[..n]));
            if tail.len() > 4096 {
                let cut = tail.len() - 2048;
                let cut = (cut..tail.len())
                    .find(|i| tail.is_char_boundary(*i))
                    .unwrap_or(0);
                tail.drain(..cut);
            }
        }
    }
}

fn last_lines(tail: &Mutex<String>) -> String {
    tail.lock()
        .map(|t| {
            let lines: Vec<&str> = t.lines().rev().take(3).collect();
            if lines.is_empty() {
                String::new()
            } else {
                format!(
                    "; last output: {}",
                    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
                )
            }
        })
        .unwrap_or_default()
}

/// `VmHWM` of a running process, bytes.
fn high_water_mark(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Stops `pid` (SIGTERM, then SIGKILL after two seconds) and reaps it: its CPU time and
/// `ru_maxrss` (bytes).
fn stop(pid: libc::pid_t, child: &mut std::process::Child) -> (Duration, Option<u64>) {
    // SAFETY: `pid` is our own child, not reaped yet (nothing waited for it but `try_wait`,
    // which reaps only an exited child, in which case wait4 below fails harmlessly).
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let mut status = 0;
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: wait4 writes the status and a `rusage` into the pointers given, which point
        // to memory of those types.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, usage.as_mut_ptr()) };
        if reaped == pid {
            // SAFETY: wait4 filled it (or left it zeroed).
            let usage = unsafe { usage.assume_init() };
            let cpu = timeval(usage.ru_utime) + timeval(usage.ru_stime);
            let max_rss = u64::try_from(usage.ru_maxrss).ok().map(|kb| kb * 1024);
            return (cpu, max_rss);
        }
        if reaped < 0 {
            return (Duration::ZERO, None);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
