"""Runs checkov and the AWS Control Tower guard rules on the SAM-transformed template.

Usage (scripts/scan-template.sh sets it up): python scan_template.py TRANSFORMED.json GUARD RULES_DIR

- checkov (`--framework cloudformation`) reads its suppressions itself, from each resource's
  `Metadata.checkov.skip` (`id` + `comment`).
- cfn-guard has no suppression mechanism in the Control Tower rules: a finding is dropped when
  the resource's `Metadata.guard.skip` lists the control id (`CT.S3.PR.2`) with a `comment`.
- Every suppression must carry a one-line reason (`comment`); exits 1 on any remaining finding
  or a suppression without a reason.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

CONTROL = re.compile(r"\[(CT\.[A-Z0-9]+\.PR\.\d+)\]")
RESOURCE = re.compile(r"/Resources/([A-Za-z0-9]+)/")


def skips(template: dict, tool: str) -> tuple[dict[str, set[str]], list[str]]:
    """Suppressed ids per resource, and suppressions without a reason."""
    out: dict[str, set[str]] = {}
    problems = []
    for lid, resource in template.get("Resources", {}).items():
        for entry in ((resource.get("Metadata") or {}).get(tool) or {}).get("skip", []):
            if not str(entry.get("comment", "")).strip():
                problems.append(f"{lid}: {tool} skip {entry.get('id')} has no comment (one-line reason)")
            out.setdefault(lid, set()).add(entry.get("id"))
    return out, problems


def guard_findings(report: object) -> set[tuple[str, str]]:
    """(control id, resource) pairs of the non-compliant checks in cfn-guard's JSON report."""
    found: set[tuple[str, str]] = set()
    documents = report if isinstance(report, list) else [report]
    for document in documents:
        for entry in document.get("not_compliant", []):
            text = json.dumps(entry)
            controls = set(CONTROL.findall(text)) or {entry.get("Rule", {}).get("name", "?")}
            for resource in set(RESOURCE.findall(text)):
                for control in controls:
                    found.add((control, resource))
    return found


def parse_json_stream(text: str) -> list:
    decoder, position, documents = json.JSONDecoder(), 0, []
    while True:
        start = text.find("{", position)
        if start < 0:
            return documents
        document, position = decoder.raw_decode(text, start)
        documents.append(document)


def main() -> int:
    transformed, guard, rules = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    template = json.loads(transformed.read_text())
    failed = False

    _, problems = skips(template, "checkov")
    print("== checkov (CloudFormation checks)", flush=True)
    checkov = subprocess.run(
        [str(Path(sys.executable).parent / "checkov"), "-f", str(transformed), "--framework",
         "cloudformation", "--compact", "--quiet", "--skip-download"],
        capture_output=True, text=True)
    print(checkov.stdout.strip() or "no findings")
    summary = re.search(r"Passed checks: \d+, Failed checks: (\d+), Skipped checks: (\d+)", checkov.stdout)
    if checkov.returncode != 0 or (summary and summary.group(1) != "0"):
        failed = True
    if summary:
        print(f"checkov: {summary.group(0)}")

    print("== cfn-guard (AWS Control Tower rules)", flush=True)
    guard_skips, guard_problems = skips(template, "guard")
    problems += guard_problems
    run = subprocess.run([guard, "validate", "--data", str(transformed), "--rules", rules,
                          "--show-summary", "none", "-o", "json"], capture_output=True, text=True)
    findings = guard_findings(parse_json_stream(run.stdout))
    suppressed = {f for f in findings if f[0] in guard_skips.get(f[1], set())}
    remaining = sorted(findings - suppressed)
    for control, resource in remaining:
        print(f"FAILED {control} {resource}")
    print(f"cfn-guard: {len(remaining)} finding(s), {len(suppressed)} suppressed in the template")
    if remaining or (run.returncode not in (0, 19) and not findings):
        failed = failed or bool(remaining) or run.returncode not in (0, 19)

    for problem in problems:
        print(problem)
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
