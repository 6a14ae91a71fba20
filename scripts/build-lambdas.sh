#!/usr/bin/env bash
# Builds the six Lambda functions for Lambda's arm64 (provided.al2023) the way `sam build`
# does, and prints the size of each binary:
#
#   scripts/build-lambdas.sh            # every function
#   scripts/build-lambdas.sh fred des   # some of them
#
# - Makes sure the project's virtualenv (.venv, gitignored) holds the pinned tools of
#   scripts/python-requirements.txt (cargo-lambda and ziglang among them), installing them when
#   that file changed since the last install.
# - Adds the Rust target aarch64-unknown-linux-gnu (a no-op once installed).
# - Runs `cargo lambda build --release --arm64` for the functions: the release profile of the
#   workspace (fat LTO, one codegen unit, panic=abort, symbols stripped) and the arm64 flags of
#   .cargo/config.toml (Graviton2 CPU, non-PIE, no unwind tables for Rust code), cross-linked by
#   Zig against Amazon Linux 2023's glibc, no Docker. Binaries land in
#   target/lambda/<f>/bootstrap.
# - Prints each bootstrap's size and what `file` says of it (arm64, stripped).
#
# A cold release build of the six takes a long while on a small machine (each binary is
# linked with fat LTO); it is not part of scripts/test.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv"
requirements="$root/scripts/python-requirements.txt"
# The same stamp as scripts/with-moto.sh: the requirements installed into .venv.
stamp="$venv/.with-moto-requirements.sha256"
target=aarch64-unknown-linux-gnu
all_functions=(dec tim fred des bcg msq)

log() { echo "build-lambdas: $*" >&2; }
# shellcheck source=scripts/venv.sh
. "$root/scripts/venv.sh"

if [ "$#" -gt 0 ]; then
  functions=("$@")
else
  functions=("${all_functions[@]}")
fi
for f in "${functions[@]}"; do
  if [ ! -d "functions/$f" ]; then
    log "no function '$f' (expected one of: ${all_functions[*]})"
    exit 2
  fi
done

venv_with_requirements "$venv" "$requirements" "$stamp" cargo-lambda
export PATH="$venv/bin:$PATH"

if command -v rustup >/dev/null 2>&1; then
  rustup target add "$target" >/dev/null
elif [ ! -d "$(rustc --print sysroot)/lib/rustlib/$target" ]; then
  log "no rustup and no $target standard library in the toolchain"
  exit 2
fi

packages=()
for f in "${functions[@]}"; do
  packages+=(--package "$f")
done
log "cargo lambda build --release --arm64 ${packages[*]}"
cargo lambda build --release --arm64 --locked "${packages[@]}"

printf '\n%-8s %10s %9s  %s\n' function bytes MiB "file"
for f in "${functions[@]}"; do
  binary="target/lambda/$f/bootstrap"
  if [ ! -f "$binary" ]; then
    log "missing $binary"
    exit 1
  fi
  size="$(stat -c %s "$binary")"
  kind="$(file -b "$binary" 2>/dev/null | cut -d, -f1-2,7- || echo '?')"
  printf '%-8s %10s %9s  %s\n' "$f" "$size" "$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }')" "$kind"
done
