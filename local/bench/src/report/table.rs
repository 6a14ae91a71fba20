//! The report as a table for a person.

use super::json::ratios_json;
use super::*;

impl Report {
    /// The table for a person.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "rewards bench — {} ({} CPUs, {}), mix seed {}",
            self.machine.cpu_model,
            self.machine.cpus,
            std::env::consts::ARCH,
            self.seed
        );
        if let Some(t) = &self.throughput {
            let _ = writeln!(out, "\nchain, in memory, one core ({} events)", t.events);
            let total = t.cpu_micros_per_event() + t.decode_micros_per_event();
            let _ = writeln!(
                out,
                "  {:>10.0} events/s   {:>7.2} µs CPU/event with Lambda's event decoding   target ≤{} µs: {}",
                1e6 / total.max(1e-9),
                total,
                targets::CHAIN_CPU_MICROS,
                verdict(total, targets::CHAIN_CPU_MICROS)
            );
            let _ = writeln!(
                out,
                "  of which handlers {:.2} µs, Lambda event JSON decoding {:.2} µs; DES: {} requests, {:.1} events each",
                t.cpu_micros_per_event(),
                t.decode_micros_per_event(),
                t.tally.des_requests,
                t.des_events_per_call
            );
            let _ = writeln!(
                out,
                "  logs at INFO: {:.0} bytes per event (CloudWatch Logs ingestion at ${}/GB: ${:.3} per million events, not in the cost figures)",
                t.log_bytes_per_event(),
                crate::cost::LOG_INGESTION_PER_GB,
                t.log_bytes_per_event() * 1e6 / 1e9 * crate::cost::LOG_INGESTION_PER_GB
            );
            let _ = writeln!(out, "  stage  records/s (handler time)");
            for stage in STAGES {
                let _ = writeln!(
                    out,
                    "  {:<5} {:>11.0}",
                    stage.as_str(),
                    t.stage_records_per_second(stage)
                );
            }
        }
        if let (Some(aws), Some(cost)) = (&self.aws, &self.cost) {
            let _ = writeln!(
                out,
                "\nAWS calls per event, against moto ({} events)",
                aws.events()
            );
            let _ = writeln!(
                out,
                "  stage  ddb write   ddb read   sqs send  sends/record in  sends/message out  invocations/event"
            );
            for stage in [Stage::Dec, Stage::Tim, Stage::Fred, Stage::Bcg, Stage::Msq] {
                let (w, r, s, m) = aws_per_event(aws, stage);
                let n = cost
                    .invocations_per_event
                    .iter()
                    .find(|(st, _)| *st == stage)
                    .map_or(0.0, |(_, n)| *n);
                let mark = |m: f64| {
                    if m <= targets::SQS_SENDS_PER_RECORD + 1e-9 {
                        "✓"
                    } else {
                        "✗"
                    }
                };
                let _ = writeln!(
                    out,
                    "  {:<5} {:>10.4} {:>10.4} {:>9.4} {:>16} {:>18} {:>18.4}",
                    stage.as_str(),
                    w,
                    r,
                    s,
                    m.map_or("-".into(), |m| format!("{m:.4} {}", mark(m))),
                    sends_per_message(aws, stage).map_or("-".into(), |m| format!("{m:.4}")),
                    n
                );
            }
            let (w, r) = tim_per_record(aws);
            let _ = writeln!(
                out,
                "  TIM per record it handled: {w:.3} writes ({}), {r:.3} reads ({})",
                verdict(w, targets::TIM_WRITES),
                verdict(r, targets::TIM_READS)
            );
            let _ = writeln!(
                out,
                "\ncost per million events ({}, list prices as of {})",
                PRICES.region, PRICES.as_of
            );
            let _ = writeln!(
                out,
                "  lambda ${:.4} (compute-only floor ${:.4})  dynamodb ${:.4}  sqs ${:.4}  total ${:.4}   target ≤${}: {}",
                cost.lambda,
                cost.lambda_cpu_only,
                cost.dynamodb,
                cost.sqs,
                cost.total(),
                targets::COST_PER_MILLION,
                verdict(cost.total(), targets::COST_PER_MILLION)
            );
        }
        if !self.cold_starts.is_empty() || !self.binary_bytes.is_empty() {
            let _ = writeln!(
                out,
                "\nbinaries: cold start and memory are {} release builds (not arm64); sizes are the arm64 bootstraps",
                std::env::consts::ARCH
            );
            let _ = writeln!(
                out,
                "  fn    cold start   peak RSS   CPU µs/record  log B/record  arm64 size"
            );
            for stage in STAGES {
                let run = self.cold_starts.get(&stage);
                let size = self.binary_bytes.get(&stage);
                let _ = writeln!(
                    out,
                    "  {:<5} {:>10} {:>10} {:>14} {:>13} {:>11}{}",
                    stage.as_str(),
                    run.and_then(millis)
                        .map_or("-".into(), |m| format!("{m:.1} ms")),
                    run.and_then(|r| r.peak_rss)
                        .map_or("-".into(), |b| format!("{:.1} MB", b as f64 / 1048576.0)),
                    run.and_then(ProcessRun::cpu_micros_per_record)
                        .map_or("-".into(), |c| format!("{c:.1}")),
                    run.filter(|r| r.records > 0)
                        .map_or("-".into(), |r| format!(
                            "{:.0}",
                            r.output_bytes as f64 / r.records as f64
                        )),
                    size.map_or("-".into(), |b| format!("{:.2} MB", *b as f64 / 1048576.0)),
                    run.and_then(|r| r.problem.as_ref())
                        .map_or(String::new(), |p| format!("  ({p})"))
                );
            }
            let _ = writeln!(
                out,
                "  targets: cold start ≤{} ms, peak RSS ≤{} MB, arm64 binary ≤{} MB",
                targets::COLD_START_MILLIS,
                targets::PEAK_RSS_BYTES / 1048576,
                targets::BINARY_BYTES / 1048576
            );
        }
        if let Some(m) = &self.latency {
            model_table(&mut out, m);
        }
        if let Some(check) = &self.latency_check {
            let _ = write!(
                out,
                "\nlatency model of the --aws runner (one executor) against its run on the wall clock\n  {}",
                crate::latency::check::table(check)
            );
        }
        if let Some(p) = &self.peer {
            let _ = writeln!(
                out,
                "\nTIM against TIM with Powertools (Python), {} events per pass, same moto",
                p.events
            );
            let _ = writeln!(
                out,
                "  side        writes/ev  reads/ev  dup writes/ev  dup reads/ev  CPU µs/ev  dup CPU µs/ev  cold start"
            );
            for (name, side) in [("ours", &p.ours), ("powertools", &p.powertools)] {
                let cpu = |pass: &Pass| {
                    pass.run
                        .cpu_micros_per_record()
                        .map_or("-".into(), |c| format!("{c:.0}"))
                };
                let _ = writeln!(
                    out,
                    "  {:<10} {:>10.3} {:>9.3} {:>14.3} {:>13.3} {:>10} {:>14} {:>11}",
                    name,
                    side.distinct.writes_per_event,
                    side.distinct.reads_per_event,
                    side.duplicates.writes_per_event,
                    side.duplicates.reads_per_event,
                    cpu(&side.distinct),
                    cpu(&side.duplicates),
                    millis(&side.distinct.run).map_or("-".into(), |m| format!("{m:.1} ms"))
                );
            }
            let _ = writeln!(out, "  ratios (powertools / ours): {}", ratios_json(p));
        }
        out
    }
}

fn model_table(out: &mut String, m: &Model) {
    let _ = writeln!(
        out,
        "\nlatency origin → OSG, discrete-event model of the event sources (ms; cost $ per million events)"
    );
    let rates: Vec<String> = RATES.iter().map(|r| format!("{r}/s")).collect();
    let _ = writeln!(
        out,
        "  {:<48} {:>22} {:>22} {:>22}",
        "setting", rates[0], rates[1], rates[2]
    );
    let row = |out: &mut String, name: &str, p: &Point| {
        let cells: Vec<String> = p
            .outcomes
            .iter()
            .map(|o| format!("{:.0}/{:.0} ${:.3}", o.p50_ms, o.p99_ms, o.cost_per_million))
            .collect();
        let _ = writeln!(
            out,
            "  {:<48} {:>22} {:>22} {:>22}{}",
            name,
            cells.first().map_or("", String::as_str),
            cells.get(1).map_or("", String::as_str),
            cells.get(2).map_or("", String::as_str),
            if p.worst_p99() <= P99_TARGET_MS {
                ""
            } else {
                "  p99 over 2 s"
            }
        );
    };
    row(
        out,
        &format!("template: {}", m.template.settings.label()),
        &m.template,
    );
    if let Some(best) = m.best {
        row(
            out,
            &format!("best found: {}", m.curve[best].settings.label()),
            &m.curve[best],
        );
    }
    let _ = writeln!(out, "  curve (p50/p99 ms and $/M at each rate):");
    let mut curve: Vec<&Point> = m.curve.iter().collect();
    curve.sort_by(|a, b| a.mean_cost().total_cmp(&b.mean_cost()));
    for p in curve {
        row(out, &p.settings.label(), p);
    }
}
