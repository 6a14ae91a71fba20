#!/usr/bin/env bash
# Run a command against a local AWS API: moto in server mode on 127.0.0.1.
#
#   scripts/with-moto.sh cargo test -p rewards-tests
#
# - Makes sure the project's virtualenv (.venv, gitignored) exists and holds moto[server]:
#   installs scripts/python-requirements.txt (pinned versions) when that file changed since
#   the last install, or moto[server] alone when there is no such file.
# - Starts moto's server on a free port of 127.0.0.1 through scripts/moto_server.py (which
#   makes its SQS FIFO queues keep group order and deduplication as SQS does), waits until it
#   answers.
# - Exports AWS_ENDPOINT_URL, dummy credentials and the region (eu-west-1), so the AWS SDK
#   (the adapters and the integration tests) talks to moto and never to AWS.
# - Runs the command and stops the server when it ends, also when it fails or is
#   interrupted; exits with the command's status.
#
# Environment: MOTO_LOG (default target/moto-server.log) receives the server's output;
# MOTO_START_TIMEOUT (seconds, default 30).
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: scripts/with-moto.sh COMMAND [ARGS...]" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
requirements="$root/scripts/python-requirements.txt"
stamp="$venv/.with-moto-requirements.sha256"

log() { echo "with-moto: $*" >&2; }

ensure_venv() {
  if [ ! -x "$venv/bin/python" ]; then
    log "creating $venv"
    python3 -m venv "$venv"
  fi
  if [ -f "$requirements" ]; then
    local want have=""
    want="$(sha256sum "$requirements" | cut -d' ' -f1)"
    [ -f "$stamp" ] && have="$(cat "$stamp")"
    if [ "$want" != "$have" ] || [ ! -x "$venv/bin/moto_server" ]; then
      log "installing $requirements into $venv"
      if "$venv/bin/pip" install --quiet -r "$requirements"; then
        echo "$want" >"$stamp"
      elif [ -x "$venv/bin/moto_server" ]; then
        log "warning: pip install -r $requirements failed; using the moto_server already installed"
      else
        log "cannot install $requirements and no moto_server in $venv"
        exit 2
      fi
    fi
  elif [ ! -x "$venv/bin/moto_server" ]; then
    log "no $requirements: installing moto[server] alone"
    "$venv/bin/pip" install --quiet 'moto[server]'
  fi
}

free_port() {
  "$venv/bin/python" - <<'PY'
import socket
with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
PY
}

ensure_venv

server_log="${MOTO_LOG:-$root/target/moto-server.log}"
mkdir -p "$(dirname "$server_log")"
timeout_s="${MOTO_START_TIMEOUT:-30}"

server_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT
trap 'stop_server; exit 143' TERM

# The port is free when picked; a race with another process is possible but rare, so a
# failed start is retried on a new port.
endpoint=""
for attempt in 1 2 3; do
  port="$(free_port)"
  "$venv/bin/python" "$root/scripts/moto_server.py" -H 127.0.0.1 -p "$port" >"$server_log" 2>&1 &
  server_pid=$!
  deadline=$((SECONDS + timeout_s))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      break
    fi
    # moto answers its own dashboard API without credentials.
    if curl --silent --fail --max-time 1 "http://127.0.0.1:$port/moto-api/data.json" >/dev/null 2>&1; then
      endpoint="http://127.0.0.1:$port"
      break 2
    fi
    sleep 0.2
  done
  log "moto_server did not start on port $port (attempt $attempt); see $server_log"
  stop_server
done
if [ -z "$endpoint" ]; then
  log "giving up: moto_server did not start"
  tail -n 20 "$server_log" >&2 || true
  exit 2
fi
log "moto_server on $endpoint (pid $server_pid, log $server_log)"

export AWS_ENDPOINT_URL="$endpoint"
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
unset AWS_SESSION_TOKEN AWS_PROFILE
export AWS_REGION=eu-west-1
export AWS_DEFAULT_REGION=eu-west-1

status=0
"$@" || status=$?
stop_server
exit "$status"
