#!/usr/bin/env bash
# Invokes two Lambda binaries locally the way Lambda does, through cargo-lambda's emulator of
# the Lambda runtime API and of function URLs (`cargo lambda watch`), and checks their answers:
#
#   1. DES with events/des/function-url-decisions.json (a function URL request, payload 2.0):
#      status 200, header `has-decision: true`, the decision (with its delivery preference) in
#      the body.
#   2. FRED with events/fred/sqs-relevant-events.json (an SQS batch): FRED posts the event to
#      DES through the emulator's function URL (`DES_URL` = http://127.0.0.1:PORT/lambda-url/des,
#      the request signed with SigV4 as in AWS, here with moto's dummy credentials) and sends
#      the decided event to SQS. The response must report no `batchItemFailures`, the
#      `decided-events` queue must hold one `rewards.decided` event with the input's
#      correlation id, and the dead-letter queue none.
#
# SQS is moto's server: the script runs itself under scripts/with-moto.sh (which installs the
# tools into .venv, starts moto on a free loopback port and stops it), creates the two queues
# there, starts `cargo lambda watch` on another free port with the functions' environment, and
# stops the watcher (and the functions it started) on exit, also on failure or interrupt. The
# functions are built in the dev profile first, as the watcher runs them. Nothing here needs AWS, Docker or the network.
#
# Environment: LAMBDA_INVOKE_TIMEOUT (seconds to wait for the watcher and each answer,
# default 300).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ -z "${LAMBDA_INVOKE_TEST_UNDER_MOTO:-}" ]; then
  exec scripts/with-moto.sh env LAMBDA_INVOKE_TEST_UNDER_MOTO=1 "$0" "$@"
fi

venv="$root/.venv"
python="$venv/bin/python"
export PATH="$venv/bin:$PATH"
work="$root/target/lambda-invoke-test"
mkdir -p "$work"
timeout_s="${LAMBDA_INVOKE_TIMEOUT:-300}"
des_event="events/des/function-url-decisions.json"
fred_event="events/fred/sqs-relevant-events.json"

log() { echo "lambda-invoke-test: $*" >&2; }

watcher_pid=""
stop_watcher() {
  if [ -n "$watcher_pid" ] && kill -0 "$watcher_pid" 2>/dev/null; then
    # The watcher leads its own process group (setsid): stop it with the cargo and function
    # processes it started, and nothing else.
    kill -TERM -- "-$watcher_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$watcher_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$watcher_pid" 2>/dev/null || true
    wait "$watcher_pid" 2>/dev/null || true
  fi
  watcher_pid=""
}
fail() {
  log "FAILED: $*"
  log "last lines of the watcher's log ($work/watch.log):"
  tail -n 30 "$work/watch.log" >&2 || true
  exit 1
}
trap stop_watcher EXIT
trap 'stop_watcher; exit 130' INT
trap 'stop_watcher; exit 143' TERM

# The queues FRED writes to, in moto.
read -r decided_url dlq_url < <("$python" - <<'PY'
import boto3
sqs = boto3.client("sqs")
urls = [sqs.create_queue(QueueName=f"local-skybet-{name}")["QueueUrl"]
        for name in ("decided-events", "fred-dlq")]
for url in urls:
    sqs.purge_queue(QueueUrl=url)
print(*urls)
PY
)

port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$work/env" <<EOF
BRAND=skybet
LOG_LEVEL=info
METRICS_NAMESPACE=RewardMessaging
DES_URL=http://127.0.0.1:$port/lambda-url/des
DECIDED_QUEUE_URL=$decided_url
DEAD_LETTER_QUEUE_URL=$dlq_url
AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
AWS_SESSION_TOKEN=local-session-token
AWS_REGION=$AWS_REGION
EOF

# cargo lambda watch runs each function with `cargo run --bin <name>`, which resolves features
# for that package alone: unlike the workspace build of `cargo test`, so on a fresh checkout
# the first invocation would compile the dependencies again and outlive the invoke's wait.
# Build each the same way first, outside the watcher.
for function in des fred; do
  log "cargo build --bin $function"
  cargo build --quiet --bin "$function"
done

log "cargo lambda watch on 127.0.0.1:$port (log: $work/watch.log)"
setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --ignore-changes \
  --env-file "$work/env" >"$work/watch.log" 2>&1 &
watcher_pid=$!

deadline=$((SECONDS + timeout_s))
until curl --silent --max-time 1 --output /dev/null "http://127.0.0.1:$port/"; do
  kill -0 "$watcher_pid" 2>/dev/null || fail "cargo lambda watch exited"
  [ "$SECONDS" -lt "$deadline" ] || fail "cargo lambda watch did not listen within ${timeout_s}s"
  sleep 0.2
done

invoke() {
  local function="$1" data="$2" out="$work/$1.response.json"
  log "cargo lambda invoke $function --data-file $data"
  timeout "$timeout_s" cargo lambda invoke "$function" --invoke-address 127.0.0.1 \
    --invoke-port "$port" --data-file "$data" --output-format json >"$out" \
    || fail "invoking $function"
  echo "$out"
}

des_response="$(invoke des "$des_event")"
"$python" - "$des_response" <<'PY' || fail "DES's answer"
import json, sys
response = json.load(open(sys.argv[1]))
assert response["statusCode"] == 200, response
headers = {k.lower(): v for k, v in response["headers"].items()}
assert headers.get("has-decision") == "true", headers
assert headers.get("content-type") == "application/json", headers
decision = json.loads(response["body"])
assert decision["hasDecision"] is True, decision
assert decision["decisions"][0]["decision"] == "DECISION", decision
assert decision["deliveryPreference"] == "TOAST", decision
print("lambda-invoke-test: DES ok: 200, has-decision: true,", response["body"], file=sys.stderr)
PY

fred_response="$(invoke fred "$fred_event")"
"$python" - "$fred_response" "$fred_event" "$decided_url" "$dlq_url" <<'PY' || fail "FRED's answer"
import json, sys
import boto3
response_file, event_file, decided_url, dlq_url = sys.argv[1:]
response = json.load(open(response_file))
assert response == {"batchItemFailures": []}, response
incoming = json.loads(json.load(open(event_file))["Records"][0]["body"])
sqs = boto3.client("sqs")
messages = sqs.receive_message(QueueUrl=decided_url, MaxNumberOfMessages=10,
                               WaitTimeSeconds=1).get("Messages", [])
assert len(messages) == 1, messages
decided = json.loads(messages[0]["Body"])
assert decided["type"] == "rewards.decided", decided
assert decided["correlationid"] == incoming["correlationid"], decided
assert decided["data"]["decision"]["hasDecision"] is True, decided
assert "tsfred" in decided, decided
letters = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=0).get("Messages", [])
assert letters == [], letters
print("lambda-invoke-test: FRED ok: no batch item failures; decided-events holds",
      decided["id"], file=sys.stderr)
PY

log "ok"
