#!/usr/bin/env bash
# Scans the SAM template with outside scanners, as a security review would, on the template
# after the SAM transform (what CloudFormation deploys):
#
#   scripts/scan-template.sh
#
# - Installs the pinned scanners of scripts/scanner-requirements.txt (checkov, and the AWS
#   Control Tower guard rules with their cfn-guard binary from cdklabs-cdk-validator-cfnguard)
#   into .venv-scan when that file changed since the last install.
# - Transforms template.yaml with the SAM translator of .venv (scripts/python-requirements.txt)
#   into target/scan/template.json, without AWS calls.
# - Runs both scanners (scripts/scan_template.py); accepted findings are suppressed in the
#   template, each with a one-line reason (Metadata.checkov.skip / Metadata.guard.skip).
# Exits non-zero on any finding not suppressed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-eu-west-1}"
scan_venv="$root/.venv-scan"
requirements="$root/scripts/scanner-requirements.txt"
stamp="$scan_venv/.requirements.sha256"
out="$root/target/scan"

log() { echo "scan-template: $*" >&2; }
# shellcheck source=scripts/venv.sh
. "$root/scripts/venv.sh"

if [ ! -x "$root/.venv/bin/python" ]; then
  log "creating .venv"
  python3 -m venv "$root/.venv"
fi
if ! "$root/.venv/bin/python" -c 'import samtranslator' 2>/dev/null; then
  log "installing scripts/python-requirements.txt into .venv"
  "$root/.venv/bin/pip" install --quiet -r "$root/scripts/python-requirements.txt"
fi
venv_with_requirements "$scan_venv" "$requirements" "$stamp"

mkdir -p "$out"
# The cfn-guard binary and the Control Tower rules ship inside the package's jsii bundle.
bundle="$(ls "$scan_venv"/lib/python3*/site-packages/cdklabs/cdk_validator_cfnguard/_jsii/*.jsii.tgz)"
if [ ! -f "$out/cfnguard/.from" ] || [ "$(cat "$out/cfnguard/.from")" != "$bundle" ]; then
  rm -rf "$out/cfnguard" && mkdir -p "$out/cfnguard"
  tar -xzf "$bundle" -C "$out/cfnguard"
  echo "$bundle" >"$out/cfnguard/.from"
fi
arch="$(uname -m)"
guard="$out/cfnguard/package/bin/ubuntu/$arch/cfn-guard"
chmod +x "$guard"
rules="$out/cfnguard/package/rules/control-tower/cfn-guard"

"$root/.venv/bin/python" - "$out/template.json" <<'PY' 2>/dev/null
import json, os, sys
sys.path.insert(0, "tests/template")
from test_template import load_template, sam_transform
json.dump(sam_transform(load_template()), open(sys.argv[1], "w"), indent=1)
PY
"$scan_venv/bin/python" scripts/scan_template.py "$out/template.json" "$guard" "$rules"
