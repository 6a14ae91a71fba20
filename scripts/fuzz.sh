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
export RUSTC_BOOTSTRAP=1
for target in "${targets[@]}"; do
  printf '\n== fuzz %s for %s s\n' "$target" "$seconds"
  mkdir -p "fuzz/corpus/$target"
  "$tools/bin/cargo-fuzz" run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048
done
