#!/usr/bin/env bash
# Runs the deployable artifacts: each function's arm64 `bootstrap`, built as `sam build` builds
# it (`cargo lambda build --release --arm64`), under qemu user-mode emulation against a local
# stand-in of the Lambda runtime API, for one sample event each (events/<function>/), and checks
# the response (scripts/arm64_smoke.py). Its queues and tables are in moto.
#
#   scripts/arm64-smoke.sh              # every function
#   scripts/arm64-smoke.sh fred des     # some of them
#   SMOKE_SKIP_BUILD=1 scripts/arm64-smoke.sh   # reuse target/lambda/<f>/bootstrap
#
# - Installs Debian's qemu-user and the arm64 C library (`apt-get install -y qemu-user
#   libc6-arm64-cross`) when qemu-aarch64 is missing (needs root, or run it beforehand).
# - Builds with scripts/build-lambdas.sh (pinned cargo-lambda and Zig from .venv): the release
#   profile with fat LTO takes about 15 minutes on two cores, so this is not part of
#   scripts/test (it would push CI past its hour); run it before a release.
# - Runs `qemu-aarch64 -L /usr/aarch64-linux-gnu target/lambda/<f>/bootstrap` per function
#   under scripts/with-moto.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
sysroot=/usr/aarch64-linux-gnu

log() { echo "arm64-smoke: $*" >&2; }

if ! command -v qemu-aarch64 >/dev/null 2>&1 || [ ! -d "$sysroot/lib" ]; then
  log "installing qemu-user and libc6-arm64-cross"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get install -y qemu-user libc6-arm64-cross >/dev/null
fi

if [ -z "${SMOKE_SKIP_BUILD:-}" ]; then
  scripts/build-lambdas.sh "$@"
fi

scripts/with-moto.sh "$root/.venv/bin/python" scripts/arm64_smoke.py \
  "$(command -v qemu-aarch64)" "$sysroot" "$@"
