"""A minimal Lambda runtime loop for the Powertools peer, measured like our bootstraps.

Started by `rewards bench --peer` with AWS_LAMBDA_RUNTIME_API pointing at the benchmark's
runtime API stand-in: imports the handler module (the cold start: Powertools, boto3, clients),
then asks for the next invocation, runs the handler and posts its result, forever. Every
HTTP request botocore sends is counted by service and operation (X-Amz-Target), and the
counts are written as JSON to BENCH_STATS_FILE when the process gets SIGTERM.
"""

import json
import os
import signal
import sys
import time
import urllib.request

import botocore.endpoint

COUNTS: dict = {}
_send = botocore.endpoint.Endpoint._send


def _counted_send(self, request):
    target = request.headers.get("X-Amz-Target", b"")
    if isinstance(target, bytes):
        target = target.decode()
    operation = target.rsplit(".", 1)[-1] if target else "?"
    key = f"{self._endpoint_prefix}:{operation}"
    COUNTS[key] = COUNTS.get(key, 0) + 1
    return _send(self, request)


botocore.endpoint.Endpoint._send = _counted_send


def _dump(_signum, _frame):
    path = os.environ.get("BENCH_STATS_FILE")
    if path:
        with open(path, "w") as out:
            json.dump(COUNTS, out)
    sys.exit(0)


signal.signal(signal.SIGTERM, _dump)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import app  # noqa: E402  (the cold start: the handler module and its clients)

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"


class Context:
    """The parts of Lambda's context object the handler reads."""

    def __init__(self, request_id: str, deadline_ms: int, arn: str):
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "peer")
        self.function_version = "$LATEST"
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"))
        self.log_group_name = "bench"
        self.log_stream_name = "bench"
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _post(path: str, body: bytes) -> None:
    request = urllib.request.Request(API + path, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    urllib.request.urlopen(request).read()


while True:
    with urllib.request.urlopen(API + "/invocation/next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        deadline = int(response.headers.get("Lambda-Runtime-Deadline-Ms", "0"))
        arn = response.headers.get("Lambda-Runtime-Invoked-Function-Arn", "")
        event = json.loads(response.read())
    try:
        result = app.handler(event, Context(request_id, deadline, arn))
        _post(f"/invocation/{request_id}/response", json.dumps(result).encode())
    except Exception as error:  # reported to the runtime API, as Lambda's runtime does
        body = json.dumps({"errorMessage": str(error), "errorType": type(error).__name__})
        _post(f"/invocation/{request_id}/error", body.encode())
