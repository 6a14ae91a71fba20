"""The scanners' suppressions in the template (scripts/scan-template.sh runs the scanners).

Each accepted finding of checkov or the AWS Control Tower guard rules is suppressed on its
resource (`Metadata.checkov.skip`, `Metadata.guard.skip`) with a one-line reason. These tests keep
the suppressions honest: every one has a reason, names a well-formed check, and sits on a
resource the check is about; and the guard report parser finds what cfn-guard reports.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from test_template import ROOT, load_template

sys.path.insert(0, str(ROOT / "scripts"))
import scan_template  # noqa: E402

CHECKOV_ID = re.compile(r"CKV_AWS_\d+")
GUARD_ID = re.compile(r"CT\.[A-Z0-9]+\.PR\.\d+")
# Which resource types each suppressed check may be on.
SERVICE_OF = {"SQS": "AWS::SQS::", "S3": "AWS::S3::", "LAMBDA": "AWS::Serverless::Function",
              "CLOUDWATCH": "AWS::Logs::"}


def test_every_suppression_has_a_one_line_reason() -> None:
    t = load_template()
    count = 0
    for tool, pattern in (("checkov", CHECKOV_ID), ("guard", GUARD_ID)):
        skipped, problems = scan_template.skips(t, tool)
        assert problems == []
        for lid, ids in skipped.items():
            for check in ids:
                assert pattern.fullmatch(check), f"{lid}: {check}"
                count += 1
        for lid, resource in t["Resources"].items():
            for entry in ((resource.get("Metadata") or {}).get(tool) or {}).get("skip", []):
                assert "\n" not in entry["comment"].strip(), f"{lid}: {entry['id']} reason is one line"
    assert count > 0


def test_guard_suppressions_sit_on_resources_of_their_service() -> None:
    t = load_template()
    skipped, _ = scan_template.skips(t, "guard")
    for lid, ids in skipped.items():
        for check in ids:
            service = check.split(".")[1]
            assert t["Resources"][lid]["Type"].startswith(SERVICE_OF[service]), f"{lid}: {check}"


def test_guard_report_parser_finds_controls_and_resources() -> None:
    report = {"not_compliant": [{"Rule": {"name": "sqs_dlq_check", "checks": [{"Rule": {
        "messages": {"custom_message": "[CT.SQS.PR.1]: Require a dead-letter queue"},
        "checks": [{"path": "/Resources/TimDlq/Properties"}]}}]}}]}
    assert scan_template.guard_findings(report) == {("CT.SQS.PR.1", "TimDlq")}
    stream = '{"not_compliant": []}\n{"not_compliant": []}'
    assert len(scan_template.parse_json_stream(stream)) == 2
