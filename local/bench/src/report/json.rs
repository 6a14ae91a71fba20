//! The report as JSON (`--json FILE`).

use super::*;

impl Report {
    /// The report's JSON.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert(
            "machine".into(),
            json!({"nproc": self.machine.cpus, "cpuModel": self.machine.cpu_model,
                   "arch": std::env::consts::ARCH}),
        );
        out.insert(
            "mix".into(),
            json!({"seed": self.seed, "composition": self.mix}),
        );
        out.insert(
            "targets".into(),
            json!({
            "timDynamodbWritesPerEvent": targets::TIM_WRITES,
            "timDynamodbReadsPerEvent": targets::TIM_READS,
            "sqsSendCallsPerEventPerHop": targets::SQS_SENDS_PER_RECORD,
            "chainCpuMicrosPerEvent": targets::CHAIN_CPU_MICROS,
            "coldStartMillis": targets::COLD_START_MILLIS,
            "binaryBytes": targets::BINARY_BYTES,
            "peakRssBytes": targets::PEAK_RSS_BYTES,
            "costPerMillionEvents": targets::COST_PER_MILLION,
            "latencyP99Millis": P99_TARGET_MS}),
        );
        let (chain, stages) = match &self.throughput {
            Some(t) => (
                json!({"events": t.events,
                       "eventsPerSecond": round(t.events_per_second(), 0),
                       "cpuMicrosPerEvent": round(t.cpu_micros_per_event() + t.decode_micros_per_event(), 2),
                       "handlerCpuMicrosPerEvent": round(t.cpu_micros_per_event(), 2),
                       "lambdaEventDecodeMicrosPerEvent": round(t.decode_micros_per_event(), 2),
                       "desRequests": t.tally.des_requests,
                       "desEventsPerRequest": round(t.des_events_per_call, 2),
                       "logBytesPerEvent": round(t.log_bytes_per_event(), 0),
                       "outcomes": t.tally.outcomes}),
                Value::Object(
                    STAGES
                        .iter()
                        .map(|s| {
                            let tally = t.tally.stages.get(s);
                            (s.as_str().to_owned(), json!({
                                "recordsPerSecond": round(t.stage_records_per_second(*s), 0),
                                "records": if *s == Stage::Des { t.tally.des_calls() } else { tally.map_or(0, |t| t.records) },
                                "invocations": tally.map_or(0, |t| t.invocations)}))
                        })
                        .collect(),
                ),
            ),
            None => (Value::Null, Value::Null),
        };
        out.insert("chain".into(), chain);
        out.insert("stages".into(), stages);
        let (calls, invocations) = match (&self.aws, &self.cost) {
            (Some(aws), Some(cost)) => {
                let mut calls = Map::new();
                for stage in [Stage::Dec, Stage::Tim, Stage::Fred, Stage::Bcg, Stage::Msq] {
                    let (w, r, s, per_record) = aws_per_event(aws, stage);
                    calls.insert(
                        stage.as_str().to_owned(),
                        json!({"dynamodbWrite": round(w, 4), "dynamodbRead": round(r, 4),
                               "sqsSend": round(s, 4),
                               "sqsSendPerRecordHandled": per_record.map(|v| round(v, 4)),
                               "sqsSendPerMessageSent": sends_per_message(aws, stage).map(|v| round(v, 4))}),
                    );
                }
                let (w, r) = tim_per_record(aws);
                calls.insert(
                    "timPerRecord".into(),
                    json!({"dynamodbWrite": round(w, 4), "dynamodbRead": round(r, 4)}),
                );
                calls.insert("events".into(), json!(aws.events()));
                let by_operation: Vec<Value> = aws
                    .counts
                    .iter()
                    .map(|((stage, service, operation), t)| {
                        json!({"stage": stage.as_str(), "service": service,
                               "operation": operation, "calls": t.calls,
                               "perEvent": round(aws.per_event(t.calls), 4)})
                    })
                    .collect();
                calls.insert("byOperation".into(), Value::Array(by_operation));
                let invocations: Map<String, Value> = cost
                    .invocations_per_event
                    .iter()
                    .map(|(s, n)| (s.as_str().to_owned(), round(*n, 4)))
                    .collect();
                (Value::Object(calls), Value::Object(invocations))
            }
            _ => (Value::Null, Value::Null),
        };
        out.insert("awsCallsPerEvent".into(), calls);
        out.insert("lambdaInvocationsPerEvent".into(), invocations);
        out.insert(
            "costPerMillionEvents".into(),
            match &self.cost {
                Some(c) => json!({"lambda": round(c.lambda, 4), "dynamodb": round(c.dynamodb, 4),
                    "sqs": round(c.sqs, 4), "sqsStandardQueues": round(c.sqs_standard, 4),
                    "total": round(c.total(), 4),
                    "lambdaCpuOnly": round(c.lambda_cpu_only, 4),
                    "writeUnitsPerEvent": round(c.write_units_per_event, 4),
                    "readUnitsPerEvent": round(c.read_units_per_event, 4),
                    "sqsRequestsPerEvent": round(c.sqs_requests_per_event, 4),
                    "pricesAsOf": PRICES.as_of, "region": PRICES.region}),
                None => Value::Null,
            },
        );
        let per_function = |f: &dyn Fn(&ProcessRun) -> Value| -> Value {
            if self.cold_starts.is_empty() {
                return Value::Null;
            }
            Value::Object(
                self.cold_starts
                    .iter()
                    .map(|(s, run)| (s.as_str().to_owned(), f(run)))
                    .collect(),
            )
        };
        out.insert(
            "coldStartMillis".into(),
            per_function(&|r| millis(r).map_or(Value::Null, |m| round(m, 2))),
        );
        out.insert(
            "binaryBytes".into(),
            if self.binary_bytes.is_empty() {
                Value::Null
            } else {
                json!(self
                    .binary_bytes
                    .iter()
                    .map(|(s, b)| (s.as_str(), *b))
                    .collect::<BTreeMap<_, _>>())
            },
        );
        out.insert("peakRssBytes".into(), per_function(&|r| json!(r.peak_rss)));
        out.insert(
            "binaryRuns".into(),
            per_function(&|r| {
                json!({"records": r.records, "responses": r.responses, "errors": r.errors,
                       "cpuMicrosPerRecord": r.cpu_micros_per_record().map(|v| round(v, 1)),
                       "outputBytesPerRecord": (r.records > 0).then(|| round(r.output_bytes as f64 / r.records as f64, 1)),
                       "problem": r.problem, "arch": std::env::consts::ARCH})
            }),
        );
        let (latency, model) = match &self.latency {
            Some(m) => (
                Value::Object(
                    m.template
                        .outcomes
                        .iter()
                        .map(|o| {
                            (
                                format!("{}", o.rate),
                                json!({"p50": round(o.p50_ms, 0), "p99": round(o.p99_ms, 0),
                                       "costPerMillionEvents": round(o.cost_per_million, 4)}),
                            )
                        })
                        .collect(),
                ),
                model_json(m),
            ),
            None => (Value::Null, Value::Null),
        };
        out.insert("latencyMillis".into(), latency);
        out.insert("latencyModel".into(), model);
        out.insert(
            "latencyCheck".into(),
            self.latency_check
                .as_ref()
                .map_or(Value::Null, crate::latency::LatencyCheck::to_json),
        );
        out.insert(
            "peers".into(),
            match &self.peer {
                Some(p) => {
                    let side = |s: &crate::peer::Side| {
                        json!({
                            "dynamodbWritePerEvent": round(s.distinct.writes_per_event, 3),
                            "dynamodbReadPerEvent": round(s.distinct.reads_per_event, 3),
                            "dynamodbWritePerDuplicateEvent": round(s.duplicates.writes_per_event, 3),
                            "dynamodbReadPerDuplicateEvent": round(s.duplicates.reads_per_event, 3),
                            "cpuMicrosPerEvent": s.distinct.run.cpu_micros_per_record().map(|v| round(v, 1)),
                            "cpuMicrosPerDuplicateEvent": s.duplicates.run.cpu_micros_per_record().map(|v| round(v, 1)),
                            "coldStartMillis": millis(&s.distinct.run).map(|v| round(v, 1)),
                            "peakRssBytes": s.distinct.run.peak_rss,
                            "operations": {"distinct": s.distinct.operations, "duplicates": s.duplicates.operations},
                            "problems": [s.distinct.run.problem, s.duplicates.run.problem]})
                    };
                    let mut peers = Map::new();
                    peers.insert("events".into(), json!(p.events));
                    peers.insert("powertoolsTim".into(), side(&p.powertools));
                    peers.insert("oursTim".into(), side(&p.ours));
                    peers.insert("ratios".into(), ratios_json(p));
                    Value::Object(peers)
                }
                None => Value::Null,
            },
        );
        Value::Object(out)
    }
}

fn ratio(a: f64, b: f64) -> Value {
    if b > 0.0 {
        round(a / b, 1)
    } else {
        Value::Null
    }
}

pub(super) fn ratios_json(p: &Comparison) -> Value {
    let cpu = |pass: &Pass| pass.run.cpu_micros_per_record().unwrap_or(0.0);
    let cold = |pass: &Pass| millis(&pass.run).unwrap_or(0.0);
    json!({
        "dynamodbWritePerEvent": ratio(p.powertools.distinct.writes_per_event, p.ours.distinct.writes_per_event),
        "dynamodbRequestsPerEvent": ratio(
            p.powertools.distinct.writes_per_event + p.powertools.distinct.reads_per_event,
            p.ours.distinct.writes_per_event + p.ours.distinct.reads_per_event),
        "cpuMicrosPerEvent": ratio(cpu(&p.powertools.distinct), cpu(&p.ours.distinct)),
        "cpuMicrosPerDuplicateEvent": ratio(cpu(&p.powertools.duplicates), cpu(&p.ours.duplicates)),
        "coldStartMillis": ratio(cold(&p.powertools.distinct), cold(&p.ours.distinct)),
    })
}

fn point_json(p: &Point) -> Value {
    json!({
        "settings": {"mskBatchSize": p.settings.msk_batch, "mskWindowMillis": p.settings.msk_window_ms,
                     "fifoBatchSize": p.settings.fifo_batch, "standardBatchSize": p.settings.standard_batch,
                     "standardWindowMillis": p.settings.standard_window_ms,
                     "maximumConcurrency": p.settings.max_concurrency},
        "worstP99Millis": round(p.worst_p99(), 0),
        "meanCostPerMillionEvents": round(p.mean_cost(), 4),
        "rates": p.outcomes.iter().map(|o| json!({
            "eventsPerSecond": o.rate, "p50": round(o.p50_ms, 0), "p99": round(o.p99_ms, 0),
            "costPerMillionEvents": round(o.cost_per_million, 4),
            "invocationsPerEvent": {"dec": round(o.invocations_per_event[0], 4),
                "tim": round(o.invocations_per_event[1], 4), "fred": round(o.invocations_per_event[2], 4),
                "des": round(o.invocations_per_event[3], 4), "bcg": round(o.invocations_per_event[4], 4)},
            "fifoRequestsPerEvent": round(o.fifo_requests_per_event, 4),
            "gbSecondsPerEvent": o.gb_seconds_per_event,
            "delivered": o.delivered})).collect::<Vec<_>>(),
    })
}

fn model_json(m: &Model) -> Value {
    let stages: Map<String, Value> = m
        .chain
        .stages
        .iter()
        .map(|(stage, time, pass)| {
            (
                stage.as_str().to_owned(),
                json!({"waitMillisPerInvocation": round(time.wait_ms, 3),
                       "cpuMillisPerRecord": round(time.cpu_ms, 4), "passedOn": round(*pass, 3)}),
            )
        })
        .collect();
    let p = &m.partners;
    json!({
        "inputs": {"stages": stages, "desCpuMillisPerEvent": round(m.chain.des_cpu_ms, 4),
                   "partnersMillis": {"mskDelivery": p.msk_delivery_ms, "sqsDelivery": p.sqs_delivery_ms,
                       "sqsSend": p.sqs_send_ms, "dynamodbWrite": p.dynamodb_write_ms,
                       "des": p.des_ms, "osg": p.osg_ms, "spread": p.spread},
                   "dynamodbPerMillion": round(m.chain.dynamodb_per_million, 4),
                   "standardSqsPerMillion": round(m.chain.standard_sqs_per_million, 4)},
        "template": point_json(&m.template),
        "bestFound": m.best.map(|i| point_json(&m.curve[i])),
        "curve": m.curve.iter().map(point_json).collect::<Vec<_>>(),
    })
}
