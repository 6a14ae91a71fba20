"""Runs each arm64 `bootstrap` under qemu against a local stand-in of the Lambda runtime API.

Usage (scripts/arm64-smoke.sh sets it up, under scripts/with-moto.sh):
    python arm64_smoke.py QEMU SYSROOT [FUNCTION...]

For each function: one HTTP server on 127.0.0.1 plays the Lambda runtime API (it hands out the
function's sample event from events/<function>/ once, then holds further `next` requests as
Lambda does between invocations) and the partner services (PPH promotions, CSL templates, OSG
deliveries, DES decisions). The bootstrap runs as `QEMU -L SYSROOT target/lambda/<f>/bootstrap`
with the environment the template gives it, its queues and tables in moto (AWS_ENDPOINT_URL).
The check: the invocation's response is what the event source expects (no batch item failure,
or DES's 200), and no init or invocation error was posted. Exits 1 on any failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_SECONDS = 120  # emulated cold start plus one invocation

PROMOTION = {
    "promoCode": "WEEKLY-SPINS", "promoName": "Weekly Spins",
    "promoUrl": "https://example.test/promo/weekly-spins", "tags": ["tim", "weekly"],
    "brand": "skybet",
    "rewardSchemes": [{
        "rewardSchemeId": "rs-100", "products": ["casino"], "rewardType": "FREE_SPINS",
        "productRewardType": "CASINO_FREE_SPINS",
        "tierDefinition": {"tiers": [{"threshold": 5, "reward": "10 free spins"}]},
        "expirationDate": "2026-11-23T23:59:59.000Z"}],
}

# Function -> (sample event, what a good response looks like).
SAMPLES = {
    "dec": "dec/msk-cpp-activity.json",
    "tim": "tim/sqs-cpp-enriched-events.json",
    "fred": "fred/sqs-relevant-events.json",
    "des": "des/function-url-decisions.json",
    "bcg": "bcg/sqs-decided-events.json",
    "msq": "msq/sqs-msq-inbound-queue.json",
}
QUEUES = ["cpp-enriched-events", "relevant-events", "relevant-unqualification-events",
          "decided-events", "msq-inbound-queue", "msq-inbound-delete", "dlq"]


class StandIn(ThreadingHTTPServer):
    """The runtime API and the partner services, for one invocation."""

    daemon_threads = True

    def __init__(self, event: bytes) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.event = event
        self.handed_out = False
        self.result: tuple[str, bytes] | None = None
        self.done = threading.Event()
        self.lock = threading.Lock()

    def handle_error(self, request: object, client_address: object) -> None:
        """A bootstrap killed after its answer drops its connections: not worth a trace."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    server: StandIn

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0]
        if path == "/2018-06-01/runtime/invocation/next":
            with self.server.lock:
                first = not self.server.handed_out
                self.server.handed_out = True
            if not first:
                self.server.done.wait(TIMEOUT_SECONDS)
                return self.reply(500)
            deadline = int(time.time() * 1000) + 60_000
            return self.reply(200, self.server.event, {
                "lambda-runtime-aws-request-id": str(uuid.uuid4()),
                "lambda-runtime-deadline-ms": str(deadline),
                "lambda-runtime-invoked-function-arn":
                    "arn:aws:lambda:eu-west-1:123456789012:function:smoke:live",
                "lambda-runtime-trace-id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0",
                "content-type": "application/json"})
        if path.startswith("/promotions/"):
            return self.reply(200, json.dumps(PROMOTION).encode(), {"content-type": "application/json"})
        if path.startswith("/templates/"):
            return self.reply(200, json.dumps({"title": "Your progress", "body": "{{reward}}"}).encode(),
                              {"content-type": "application/json"})
        self.reply(404)

    def do_POST(self) -> None:  # noqa: N802
        path, body = self.path.split("?")[0], self.body()
        if path.startswith("/2018-06-01/runtime/"):
            kind = "response" if path.endswith("/response") else "error"
            self.server.result = (kind, body)
            self.server.done.set()
            return self.reply(202)
        if path.startswith("/customers/"):
            return self.reply(200, b"{}", {"content-type": "application/json"})
        if path == "/decisions":
            return self.reply(200, b"", {"has-decision": "false"})
        self.reply(404)


def resources(prefix: str) -> dict[str, str]:
    sqs = boto3.client("sqs")
    ddb = boto3.client("dynamodb")
    out = {q: sqs.create_queue(QueueName=f"{prefix}-{q}")["QueueUrl"] for q in QUEUES}
    for name, keys in (("tim", [("pk", "HASH")]), ("msq", [("pk", "HASH"), ("sk", "RANGE")])):
        ddb.create_table(
            TableName=f"{prefix}-{name}", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys])
        out[f"{name}-table"] = f"{prefix}-{name}"
    return out


def environment(function: str, url: str, api: str, res: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "PATH", "HOME"))}
    env.update({
        "AWS_LAMBDA_RUNTIME_API": api, "AWS_LAMBDA_FUNCTION_NAME": f"smoke-{function}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_LOG_STREAM_NAME": "smoke", "AWS_LAMBDA_LOG_GROUP_NAME": "smoke",
        "AWS_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-1"),
        "BRAND": "skybet", "LOG_LEVEL": "info", "METRICS_NAMESPACE": "RewardMessaging/smoke",
        "DEAD_LETTER_QUEUE_URL": res["dlq"],
    })
    env.update({
        "dec": {"CPP_TOPIC": "dc1.skybet.cpp.activity", "EPPM_TOPIC": "dc1.skybet.eppm.activity",
                "PPH_URL": url, "ENRICHED_QUEUE_URL": res["cpp-enriched-events"],
                "UNQUALIFICATION_QUEUE_URL": res["relevant-unqualification-events"],
                "KAFKA_REPORT_BATCH_ITEM_FAILURES": "true"},
        "tim": {"TIM_FILTER_TAG": "tim", "TIM_TABLE": res["tim-table"], "TIM_TTL_GRACE_DAYS": "7",
                "RELEVANT_QUEUE_URL": res["relevant-events"],
                "UNQUALIFICATION_QUEUE_URL": res["relevant-unqualification-events"],
                "MSQ_DELETE_QUEUE_URL": res["msq-inbound-delete"]},
        "fred": {"FRED_CONFIG": "{}", "DES_URL": url, "DECIDED_QUEUE_URL": res["decided-events"]},
        "des": {"DELIVERY_PREFERENCES": "{}"},
        "bcg": {"CSL_URL": url, "OSG_URL": url, "DEFAULT_LOCALE": "en-GB",
                "CYCLE_START_WEEKDAY": "MONDAY", "CYCLE_START_TIME_ZONE": "Europe/London",
                "MSQ_QUEUE_URL": res["msq-inbound-queue"],
                "MSQ_DELETE_QUEUE_URL": res["msq-inbound-delete"]},
        "msq": {"MSQ_TABLE": res["msq-table"], "OSG_URL": url,
                "ONLINE_TOPIC": "dc1.skybet.customer.online",
                "KAFKA_REPORT_BATCH_ITEM_FAILURES": "true"},
    }[function])
    return env


def good(function: str, kind: str, body: bytes) -> str | None:
    """None when the response is what the event source expects, else what is wrong."""
    if kind != "response":
        return f"posted an error: {body[:300]!r}"
    answer = json.loads(body or b"null")
    if function == "des":
        return None if answer.get("statusCode") == 200 else f"DES answered {answer!r:.300}"
    failures = (answer or {}).get("batchItemFailures")
    return None if failures == [] else f"unexpected response {answer!r:.300}"


def smoke(function: str, qemu: str, sysroot: str, res: dict[str, str]) -> str | None:
    binaries = Path(os.environ.get("SMOKE_BINARIES", ROOT / "target" / "lambda"))
    binary = binaries / function / "bootstrap"
    if not binary.is_file():
        return f"{binary} missing (build it with cargo lambda build --release --arm64)"
    event = (ROOT / "events" / SAMPLES[function]).read_bytes()
    server = StandIn(event)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address
    url, api = f"http://{host}:{port}", f"{host}:{port}"
    started = time.monotonic()
    process = subprocess.Popen([qemu, "-L", sysroot, str(binary)],
                               env=environment(function, url, api, res),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        if not server.done.wait(TIMEOUT_SECONDS):
            return f"no response within {TIMEOUT_SECONDS} s"
        kind, body = server.result or ("error", b"")
        problem = good(function, kind, body)
        print(f"{function:5} {SAMPLES[function]:40} {time.monotonic() - started:6.1f} s  "
              f"{'ok' if problem is None else 'FAILED'}  {body[:120].decode(errors='replace')}")
        return problem
    finally:
        process.kill()
        output = process.communicate()[0].decode(errors="replace")
        server.shutdown()
        if os.environ.get("SMOKE_VERBOSE"):
            print(output)


def main() -> int:
    qemu, sysroot, functions = sys.argv[1], sys.argv[2], sys.argv[3:] or list(SAMPLES)
    res = resources(f"smoke-{uuid.uuid4().hex[:8]}")
    failed = False
    for function in functions:
        problem = smoke(function, qemu, sysroot, res)
        if problem:
            print(f"arm64-smoke: {function}: {problem}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
