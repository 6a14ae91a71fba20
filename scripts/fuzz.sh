#!/usr/bin/env bash
# Fuzzes the pipeline's decoders with cargo-fuzz (libFuzzer), each target for a bounded time:
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     # default 60 s each; FUZZ_SECONDS works too
#
# Targets (fuzz/fuzz_targets/): kafka_record (DEC's decode and MSQ's customer-online parse of
# an MSK record value and header), sqs_body (TIM's decode and the FRED/BCG/MSQ envelopes),
# des_request (DES's handler: never a 5xx). cargo-fuzz is installed into .tools/ on first use.
# The machine has one stable toolchain and no nightly: cargo-fuzz's -Z flags are allowed with
# RUSTC_BOOTSTRAP=1. Not part of scripts/test (too slow). A crash leaves its input under
# fuzz/artifacts/<target>/; replay it with `scripts/fuzz.sh 0 <target>` after adding it to the
# corpus, and add a regression test for it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-${FUZZ_SECONDS:-60}}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(kafka_record sqs_body des_request)
fi
tools="$root/.tools"
if [ ! -x "$tools/bin/cargo-fuzz" ]; then
  cargo install cargo-fuzz --locked --root "$tools"
fi
# Seeds each target's corpus from the sample events of events/<function>/ (once), so the
# fuzzer starts from valid records and mutates them instead of finding JSON from scratch.
seed_corpus() {
  python3 - "$root" <<'PY'
import base64, hashlib, json, os, sys
root = sys.argv[1]
def put(target, data):
    folder = os.path.join(root, "fuzz", "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + hashlib.sha1(data).hexdigest()), "wb") as out:
        out.write(data)
def load(path):
    with open(os.path.join(root, "events", path)) as f:
        return json.load(f)
for path, selector in [("dec/msk-cpp-activity.json", 0), ("dec/msk-eppm-activity.json", 1),
                       ("dec/msk-cpp-with-bad-record.json", 0), ("msq/msk-customer-online.json", 2)]:
    for records in load(path).get("records", {}).values():
        for record in records:
            if record.get("value"):
                put("kafka_record", bytes([selector]) + base64.b64decode(record["value"]))
for path in ["tim/sqs-cpp-enriched-events.json", "fred/sqs-relevant-events.json",
             "fred/sqs-relevant-unqualification-events.json", "bcg/sqs-decided-events.json",
             "msq/sqs-msq-inbound-queue.json", "msq/sqs-msq-inbound-delete.json"]:
    for record in load(path).get("Records", []):
        put("sqs_body", record["body"].encode())
body = load("des/function-url-decisions.json").get("body")
if body:
    put("des_request", body.encode())
PY
}

export RUSTC_BOOTSTRAP=1
seed_corpus
for target in "${targets[@]}"; do
  printf '\n== fuzz %s for %s s\n' "$target" "$seconds"
  mkdir -p "fuzz/corpus/$target"
  "$tools/bin/cargo-fuzz" run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048
done
