#!/usr/bin/env bash
# The chaos run over the DynamoDB and SQS adapters, against a local moto server:
#
#   scripts/chaos-aws.sh [EVENTS] [SEED]        (defaults: 2000 events, seed 20261121)
#
# Builds the `rewards` command (release), starts moto through scripts/with-moto.sh and runs
# `rewards chaos --aws`: the same seeded events twice, clean and with faults at the ports,
# through SQS FIFO and standard queues and DynamoDB tables made for each run (and deleted
# after). Exits with the run's status: 0 when nothing was lost or shown twice. It takes
# minutes (each reported failure waits for the queue's visibility time-out), so it is not part
# of scripts/test, which runs a small one (tests/aws_chain.rs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
events="${1:-2000}"
seed="${2:-20261121}"
cargo build --release --locked --bin rewards
exec scripts/with-moto.sh target/release/rewards chaos --aws --events "$events" --seed "$seed"
