#!/usr/bin/env bash
# Lint the SAM template: `sam validate --lint` and `cfn-lint` (errors, warnings and
# informational findings all fail). Needs the tools from scripts/python-requirements.txt
# on PATH, e.g.:
#   python3 -m venv .venv && .venv/bin/pip install -r scripts/python-requirements.txt
#   PATH="$PWD/.venv/bin:$PATH" scripts/lint-template.sh
# No AWS credentials and no network are needed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
template="${1:-template.yaml}"

export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-eu-west-1}"
export SAM_CLI_TELEMETRY=0

for tool in sam cfn-lint; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "lint-template: '$tool' not on PATH; install scripts/python-requirements.txt into a venv and add its bin/ to PATH" >&2
    exit 2
  fi
done

echo "==> sam validate --lint ($template, $AWS_DEFAULT_REGION)"
sam validate --lint --template-file "$template" --region "$AWS_DEFAULT_REGION"

echo "==> cfn-lint ($template, $AWS_DEFAULT_REGION)"
cfn-lint --regions "$AWS_DEFAULT_REGION" --include-checks I --non-zero-exit-code informational -- "$template"

echo "lint-template: no findings"
