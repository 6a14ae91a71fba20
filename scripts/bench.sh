#!/usr/bin/env bash
# Runs every benchmark of `rewards bench` and writes target/bench.json:
#
#   scripts/bench.sh                 # 100,000 events in memory, 5,000 against moto
#   scripts/bench.sh --events 20000  # more options are passed on to `rewards bench`
#
# - Builds the release binaries of the `rewards` tool and of the six functions (x86_64 here:
#   cold start and peak RSS are measured on them; Lambda runs the arm64 builds of
#   scripts/build-lambdas.sh, whose sizes are read from target/lambda/*/bootstrap if present).
# - Installs bench/requirements.txt (Powertools, boto3) into .venv for the Python peer.
# - Runs `rewards bench --aws --binaries target/release --peer` under scripts/with-moto.sh, so
#   every AWS call goes to a local moto server on a loopback port, never to AWS.
#
# Not part of scripts/test: it takes minutes and its figures depend on the machine. Nothing
# here asserts a figure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

cargo build --release --locked -p rewards -p dec -p tim -p fred -p des -p bcg -p msq
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet -r bench/requirements.txt

scripts/with-moto.sh target/release/rewards bench --aws --binaries target/release --peer \
  --json target/bench.json "$@"
echo "bench: wrote target/bench.json" >&2
