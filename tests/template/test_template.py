"""Project rules for the SAM template (template.yaml).

Run from the repository root with the project's virtualenv:

    AWS_DEFAULT_REGION=eu-west-1 .venv/bin/pytest tests/template

Each rule is a ``check_*`` function that takes a parsed template and returns a list of
human-readable problems (empty when the rule holds). The tests assert the real template
has no problems, and that deliberately broken copies of it do, so a rule that silently
stopped checking anything would fail here too.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAMCONFIG = ROOT / "samconfig.toml"

# ---------------------------------------------------------------------------
# The contract between the template and the Rust config readers.
# Keys are the template's function logical ids; values are exactly the
# environment variable names that function receives (Globals included).
# test_config_variables.py holds each function's `VARIABLES` (what its Rust config
# reads) to this same list and to the template.
# ---------------------------------------------------------------------------
EXPECTED_ENV: dict[str, list[str]] = {
    "Dec": [
        "BRAND", "LOG_LEVEL", "METRICS_NAMESPACE",
        "CPP_TOPIC", "EPPM_TOPIC", "PPH_URL", "PPH_API_KEY_SECRET_ARN",
        "ENRICHED_QUEUE_URL", "UNQUALIFICATION_QUEUE_URL", "DEAD_LETTER_QUEUE_URL",
        "KAFKA_REPORT_BATCH_ITEM_FAILURES",
    ],
    "Tim": [
        "BRAND", "LOG_LEVEL", "METRICS_NAMESPACE",
        "TIM_FILTER_TAG", "TIM_TABLE", "TIM_TTL_GRACE_DAYS",
        "RELEVANT_QUEUE_URL", "UNQUALIFICATION_QUEUE_URL",
        "DEAD_LETTER_QUEUE_URL",
    ],
    "Fred": [
        "BRAND", "LOG_LEVEL", "METRICS_NAMESPACE",
        "FRED_CONFIG", "DES_URL", "DECIDED_QUEUE_URL", "DEAD_LETTER_QUEUE_URL",
    ],
    "Des": [
        "BRAND", "LOG_LEVEL", "METRICS_NAMESPACE",
        "DELIVERY_PREFERENCES",
    ],
    "Bcg": [
        "BRAND", "LOG_LEVEL", "METRICS_NAMESPACE",
        "CSL_URL", "CSL_API_KEY_SECRET_ARN", "OSG_URL", "OSG_API_KEY_SECRET_ARN", "DEFAULT_LOCALE",
        "CYCLE_START_WEEKDAY", "CYCLE_START_TIME_ZONE", "MSQ_QUEUE_URL",
        "MSQ_DELETE_QUEUE_URL", "DEAD_LETTER_QUEUE_URL",
    ],
    "Msq": [
        "BRAND", "LOG_LEVEL", "METRICS_NAMESPACE",
        "MSQ_TABLE", "OSG_URL", "OSG_API_KEY_SECRET_ARN", "ONLINE_TOPIC", "DEAD_LETTER_QUEUE_URL",
        "KAFKA_REPORT_BATCH_ITEM_FAILURES",
    ],
}

# Queue logical id -> name suffix (after "${Env}-${Brand}-").
EXPECTED_QUEUES = {
    "CppEnrichedEventsQueue": "cpp-enriched-events.fifo",
    "RelevantEventsQueue": "relevant-events.fifo",
    "RelevantUnqualificationEventsQueue": "relevant-unqualification-events.fifo",
    "DecidedEventsQueue": "decided-events.fifo",
    "MsqInboundQueue": "msq-inbound-queue",
    "MsqInboundDeleteQueue": "msq-inbound-delete",
    "DecDlq": "dec-dlq",
    "TimDlq": "tim-dlq.fifo",
    "FredDlq": "fred-dlq.fifo",
    "BcgDlq": "bcg-dlq.fifo",
    "MsqDlq": "msq-dlq",
}

# Which function consumes which queue (SQS event sources), and which reads Kafka.
EXPECTED_SQS_TRIGGERS = {
    "Dec": [],
    "Tim": ["CppEnrichedEventsQueue"],
    "Fred": ["RelevantEventsQueue", "RelevantUnqualificationEventsQueue"],
    "Des": [],
    "Bcg": ["DecidedEventsQueue"],
    "Msq": ["MsqInboundQueue", "MsqInboundDeleteQueue"],
}
EXPECTED_MSK_EVENTS = {"Dec": 2, "Msq": 1}  # DEC: CPP + EPPM topics (one topic per mapping)

# Each function's own stage dead-letter queue.
STAGE_DLQ = {"Dec": "DecDlq", "Tim": "TimDlq", "Fred": "FredDlq", "Bcg": "BcgDlq", "Msq": "MsqDlq"}

# Exactly the DynamoDB actions each function may use (functions not listed: none).
EXPECTED_DYNAMODB = {
    "Tim": ("TimStateTable", {"dynamodb:UpdateItem"}),
    "Msq": ("MsqTable", {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:UpdateItem"}),
}

# AWS managed policies that may be attached, and to which functions' roles. They hold
# statements on "*" because the actions have no resource-level permissions in IAM.
ALLOWED_MANAGED_POLICIES = {
    # The role SAM creates for CodeDeploy's gradual deployments (not a function's role).
    "service-role/AWSCodeDeployRoleForLambda": {"CodeDeploy"},
    "AWSXRayDaemonWriteAccess": {"Dec", "Tim", "Fred", "Des", "Bcg", "Msq"},
    "service-role/AWSLambdaMSKExecutionRole": {"Dec", "Msq"},
}

# Embedded Metric Format metrics the Rust stages publish, in namespace RewardMessaging/<Env>
# (the environment in the namespace, so stacks of several environments in one account do not
# mix their metrics). Placeholders read as "X" where the template is parsed as JSON.
EMF_NAMESPACE = "RewardMessaging"
EMF_NAMESPACE_VALUE = {"Fn::Sub": "RewardMessaging/${Env}"}
EMF_NAMESPACE_IN_DASHBOARD = "RewardMessaging/X"
# (function, stage, partner metric prefix): the partner calls each stage makes.
PARTNER_CALLS = [("Dec", "dec", "Pph"), ("Bcg", "bcg", "Csl"), ("Bcg", "bcg", "Osg"),
                 ("Msq", "msq", "Osg"), ("Fred", "fred", "Des")]
# Partner calls authenticated by an API key (DES is called with SigV4).
API_KEY_CALLS = [c for c in PARTNER_CALLS if c[2] != "Des"]
EMF_METRICS = {
    "RecordsIn": {"Stage", "Brand"},
    "Emitted": {"Stage", "Brand"},
    "Dropped": {"Stage", "Brand", "Reason"},
    "DeadLettered": {"Stage", "Brand", "Reason"},
    "Delivered": {"Stage", "Brand"},
    "Queued": {"Stage", "Brand"},
    "Resent": {"Stage", "Brand"},
    "LatencyFromOriginMs": {"Stage", "Brand"},
    "LatencyFromPreviousStageMs": {"Stage", "Brand"},
    "PphLatencyMs": {"Stage", "Brand"},
    "CslLatencyMs": {"Stage", "Brand"},
    "OsgLatencyMs": {"Stage", "Brand"},
    "DownstreamErrors": {"Stage", "Brand"},
    "CacheHits": {"Stage", "Brand"},
}

DEFAULT_VISIBILITY_TIMEOUT = 30  # SQS default when VisibilityTimeout is absent
DEFAULT_LAMBDA_TIMEOUT = 3  # Lambda default when neither the function nor Globals set it


# ---------------------------------------------------------------------------
# Loading and small helpers
# ---------------------------------------------------------------------------
def load_template(path: Path | str = TEMPLATE) -> dict[str, Any]:
    """Parse with cfn-lint's YAML decoder (understands !Ref/!Sub/!GetAtt) into plain dicts."""
    return json.loads(json.dumps(cfn_yaml.load(str(path))))


def resources(t: dict, rtype: str) -> dict[str, dict]:
    return {k: v for k, v in t.get("Resources", {}).items() if v.get("Type") == rtype}


def functions(t: dict) -> dict[str, dict]:
    return resources(t, "AWS::Serverless::Function")


def queues(t: dict) -> dict[str, dict]:
    return resources(t, "AWS::SQS::Queue")


def queue_name(q: dict) -> str:
    name = q.get("Properties", {}).get("QueueName", "")
    if isinstance(name, dict):
        name = name.get("Fn::Sub", "")
        if isinstance(name, list):
            name = name[0]
    return name if isinstance(name, str) else ""


def is_dlq_name(name: str) -> bool:
    return name.removesuffix(".fifo").endswith("-dlq")


def dlqs(t: dict) -> dict[str, dict]:
    return {k: v for k, v in queues(t).items() if is_dlq_name(queue_name(v))}


def input_queues(t: dict) -> dict[str, dict]:
    return {k: v for k, v in queues(t).items() if not is_dlq_name(queue_name(v))}


def deep_merge(base: Any, override: Any) -> Any:
    """SAM Globals semantics for maps: merged key by key, the function's value wins."""
    if isinstance(base, dict) and isinstance(override, dict) and not _is_intrinsic(override):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return copy.deepcopy(override)


def _is_intrinsic(v: Any) -> bool:
    return isinstance(v, dict) and len(v) == 1 and (next(iter(v)) == "Ref" or next(iter(v)).startswith("Fn::"))


def function_props(t: dict, lid: str) -> dict:
    glob = t.get("Globals", {}).get("Function", {})
    return deep_merge(glob, t["Resources"][lid].get("Properties", {}))


def ref(v: Any) -> str | None:
    return v.get("Ref") if isinstance(v, dict) and isinstance(v.get("Ref"), str) else None


def getatt(v: Any) -> tuple[str, str] | None:
    if isinstance(v, dict) and "Fn::GetAtt" in v:
        g = v["Fn::GetAtt"]
        if isinstance(g, str):
            g = g.split(".", 1)
        return g[0], g[1]
    return None


def as_list(v: Any) -> list:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def sqs_events(t: dict) -> Iterator[tuple[str, str, dict]]:
    for lid, fn in functions(t).items():
        for ename, ev in (fn.get("Properties", {}).get("Events") or {}).items():
            if ev.get("Type") == "SQS":
                yield lid, ename, ev.get("Properties", {})


def msk_events(t: dict) -> Iterator[tuple[str, str, dict]]:
    for lid, fn in functions(t).items():
        for ename, ev in (fn.get("Properties", {}).get("Events") or {}).items():
            if ev.get("Type") == "MSK":
                yield lid, ename, ev.get("Properties", {})


def role_of(t: dict, fn_lid: str) -> tuple[str | None, dict | None]:
    g = getatt(function_props(t, fn_lid).get("Role"))
    if not g or g[1] != "Arn" or g[0] not in t["Resources"]:
        return None, None
    return g[0], t["Resources"][g[0]]


def conditional_statements(statements: Any) -> Iterator[dict]:
    """The statements of a list, each branch of an `!If` statement included (`AWS::NoValue` not)."""
    for st in as_list(statements):
        if isinstance(st, dict) and "Fn::If" in st:
            yield from conditional_statements(st["Fn::If"][1:])
        elif isinstance(st, dict) and st.get("Ref") != "AWS::NoValue":
            yield st


def role_statements(role: dict) -> list[dict]:
    out = []
    for pol in role.get("Properties", {}).get("Policies", []) or []:
        out.extend(conditional_statements(pol.get("PolicyDocument", {}).get("Statement")))
    return out


def statement_actions(st: dict) -> set[str]:
    return {a for a in as_list(st.get("Action")) if isinstance(a, str)}


def granted(role: dict, action: str) -> list[Any]:
    """Resources of the role's Allow statements that include ``action``."""
    res: list[Any] = []
    for st in role_statements(role):
        if st.get("Effect") == "Allow" and action in statement_actions(st):
            res.extend(as_list(st.get("Resource")))
    return res


def arn_targets(resources_: list[Any]) -> set[str]:
    return {g[0] for g in (getatt(r) for r in resources_) if g and g[1] == "Arn"}


def env_vars(t: dict, lid: str) -> dict:
    return function_props(t, lid).get("Environment", {}).get("Variables", {}) or {}


def dlq_of_function(t: dict, lid: str) -> str | None:
    return ref(env_vars(t, lid).get("DEAD_LETTER_QUEUE_URL"))


# ---------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------
def is_fifo(t: dict, queue: str) -> bool:
    return (t["Resources"].get(queue, {}).get("Properties") or {}).get("FifoQueue") is True


def check_sqs_event_sources(t: dict) -> list[str]:
    """Every SQS event source: partial batch responses, max concurrency; a standard queue's
    batch size is SqsBatchSize with a batching window, a FIFO queue's is FifoBatchSize (at most
    10) without one (FIFO event sources have none)."""
    errors = []
    params = t.get("Parameters") or {}
    for lid, ename, p in sqs_events(t):
        where = f"{lid}.Events.{ename}"
        if p.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
            errors.append(f"{where}: FunctionResponseTypes must be exactly ['ReportBatchItemFailures'], "
                          f"got {p.get('FunctionResponseTypes')!r}")
        if "MaximumConcurrency" not in (p.get("ScalingConfig") or {}):
            errors.append(f"{where}: ScalingConfig.MaximumConcurrency missing")
        g = getatt(p.get("Queue"))
        if not g or g[0] not in queues(t) or g[1] != "Arn":
            errors.append(f"{where}: Queue must be !GetAtt <queue in this template>.Arn, got {p.get('Queue')!r}")
            continue
        if is_fifo(t, g[0]):
            if ref(p.get("BatchSize")) != "FifoBatchSize":
                errors.append(f"{where}: BatchSize must be !Ref FifoBatchSize, got {p.get('BatchSize')!r}")
            if "MaximumBatchingWindowInSeconds" in p:
                errors.append(f"{where}: a FIFO event source takes no batching window")
            default = (params.get("FifoBatchSize") or {}).get("Default")
            if default is None or int(default) > 10 or int((params.get("FifoBatchSize") or {}).get("MaxValue", 11)) > 10:
                errors.append(f"{where}: FifoBatchSize must default to and allow at most 10")
            continue
        if "MaximumBatchingWindowInSeconds" not in p:
            errors.append(f"{where}: MaximumBatchingWindowInSeconds missing")
        if ref(p.get("BatchSize")) != "SqsBatchSize":
            errors.append(f"{where}: BatchSize must be !Ref SqsBatchSize, got {p.get('BatchSize')!r}")
        default = (params.get("SqsBatchSize") or {}).get("Default")
        if default is not None and int(default) > 10 and int(p.get("MaximumBatchingWindowInSeconds") or 0) < 1:
            errors.append(f"{where}: a BatchSize above 10 needs MaximumBatchingWindowInSeconds >= 1")
    return errors


# The queues an award and its delete instruction travel, and FRED's second input (whose DLQ
# FRED shares with the first), are FIFO; so are their dead-letter queues.
FIFO_QUEUES = [
    "CppEnrichedEventsQueue", "RelevantEventsQueue", "RelevantUnqualificationEventsQueue",
    "DecidedEventsQueue", "TimDlq", "FredDlq", "BcgDlq",
]


def check_fifo_queues(t: dict) -> list[str]:
    """The ordered path is FIFO end to end, with names SQS accepts and a standard queue's
    dead-letter queue standard, a FIFO queue's FIFO."""
    errors = []
    for lid in queues(t):
        props = t["Resources"][lid].get("Properties") or {}
        fifo = is_fifo(t, lid)
        if fifo != (lid in FIFO_QUEUES):
            errors.append(f"{lid}: FifoQueue must be {lid in FIFO_QUEUES}")
        name = props.get("QueueName")
        text = name.get("Fn::Sub") if isinstance(name, dict) else name
        if isinstance(text, str) and text.endswith(".fifo") != fifo:
            errors.append(f"{lid}: a FIFO queue's name ends in .fifo, a standard one's does not: {text!r}")
        target = getatt((props.get("RedrivePolicy") or {}).get("deadLetterTargetArn"))
        if target and is_fifo(t, target[0]) != fifo:
            errors.append(f"{lid}: redrives to {target[0]}, which must be {'FIFO' if fifo else 'standard'} too")
    return errors


def check_event_sources_match_architecture(t: dict) -> list[str]:
    errors = []
    fns = functions(t)
    for lid in fns:
        got = sorted(getatt(p.get("Queue"))[0] for f, _, p in sqs_events(t) if f == lid and getatt(p.get("Queue")))
        want = sorted(EXPECTED_SQS_TRIGGERS.get(lid, []))
        if got != want:
            errors.append(f"{lid}: SQS triggers {got} != expected {want}")
        n_msk = sum(1 for f, _, _ in msk_events(t) if f == lid)
        if n_msk != EXPECTED_MSK_EVENTS.get(lid, 0):
            errors.append(f"{lid}: {n_msk} MSK event sources, expected {EXPECTED_MSK_EVENTS.get(lid, 0)}")
    return errors


def check_queues(t: dict) -> list[str]:
    """Names, SSE everywhere, and a redrive policy to an existing DLQ on every non-DLQ queue."""
    errors = []
    qs = queues(t)
    for lid, suffix in EXPECTED_QUEUES.items():
        if lid not in qs:
            errors.append(f"queue {lid} missing")
        elif queue_name(qs[lid]) != "${Env}-${Brand}-" + suffix:
            errors.append(f"{lid}: QueueName {queue_name(qs[lid])!r} != '${{Env}}-${{Brand}}-{suffix}'")
    for lid in qs:
        if lid not in EXPECTED_QUEUES:
            errors.append(f"{lid}: queue not in the architecture (EXPECTED_QUEUES)")
    dl = dlqs(t)
    for lid, q in qs.items():
        props = q.get("Properties", {})
        if props.get("SqsManagedSseEnabled") is not True:
            errors.append(f"{lid}: SqsManagedSseEnabled must be true")
        rp = props.get("RedrivePolicy")
        if lid in dl:
            if rp:
                errors.append(f"{lid}: a dead-letter queue must not redrive further")
            continue
        if not isinstance(rp, dict):
            errors.append(f"{lid}: RedrivePolicy missing")
            continue
        target = getatt(rp.get("deadLetterTargetArn"))
        if not target or target[1] != "Arn" or target[0] not in qs:
            errors.append(f"{lid}: RedrivePolicy.deadLetterTargetArn must be !GetAtt <queue>.Arn of an existing queue")
        elif target[0] not in dl:
            errors.append(f"{lid}: redrives to {target[0]}, which is not a dead-letter queue")
        if "maxReceiveCount" not in rp:
            errors.append(f"{lid}: RedrivePolicy.maxReceiveCount missing")
    return errors


def check_dlq_routing(t: dict) -> list[str]:
    """An input queue redrives to its consumer's stage DLQ, the one the function itself writes to."""
    errors = []
    for lid in functions(t):
        own = dlq_of_function(t, lid)
        if lid in STAGE_DLQ and own != STAGE_DLQ[lid]:
            errors.append(f"{lid}: DEAD_LETTER_QUEUE_URL must be !Ref {STAGE_DLQ[lid]}, got {own!r}")
    for lid, ename, p in sqs_events(t):
        g = getatt(p.get("Queue"))
        if not g or g[0] not in t["Resources"]:
            continue
        rp = t["Resources"][g[0]].get("Properties", {}).get("RedrivePolicy") or {}
        target = getatt(rp.get("deadLetterTargetArn"))
        if not target or target[0] != STAGE_DLQ.get(lid):
            errors.append(f"{g[0]} (consumed by {lid}) must redrive to {STAGE_DLQ.get(lid)}, got {target!r}")
    return errors


def check_visibility_timeouts(t: dict) -> list[str]:
    """VisibilityTimeout >= 6 x consumer Timeout + MaximumBatchingWindowInSeconds."""
    errors = []
    for lid, ename, p in sqs_events(t):
        g = getatt(p.get("Queue"))
        if not g or g[0] not in t["Resources"]:
            continue
        timeout = function_props(t, lid).get("Timeout", DEFAULT_LAMBDA_TIMEOUT)
        window = p.get("MaximumBatchingWindowInSeconds", 0)
        vt = t["Resources"][g[0]].get("Properties", {}).get("VisibilityTimeout", DEFAULT_VISIBILITY_TIMEOUT)
        if not all(isinstance(x, int) for x in (timeout, window, vt)):
            errors.append(f"{g[0]}/{lid}.{ename}: VisibilityTimeout, Timeout and batching window must be literals")
            continue
        need = 6 * timeout + window
        if vt < need:
            errors.append(f"{g[0]}: VisibilityTimeout {vt} < 6 x {lid} Timeout {timeout} + window {window} = {need}")
    return errors


_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_ACCOUNT_WIDE = re.compile(r"arn:[^:]*:[^:]*:[^:]*:[^:]*:\*")


def _resource_strings(v: Any) -> Iterator[str]:
    """The literal shapes a Resource value can take; Ref/GetAtt are specific by construction."""
    if isinstance(v, str):
        yield v
    elif isinstance(v, list):
        for item in v:
            yield from _resource_strings(item)
    elif isinstance(v, dict):
        if "Fn::Sub" in v:
            s = v["Fn::Sub"]
            yield s[0] if isinstance(s, list) else s
        elif "Fn::If" in v:
            for branch in v["Fn::If"][1:]:
                yield from _resource_strings(branch)
        elif "Fn::Join" in v:
            sep, parts = v["Fn::Join"]
            yield sep.join(p if isinstance(p, str) else "X" for p in parts)


def is_wildcard_resource(s: str) -> bool:
    s = _PLACEHOLDER.sub("X", s).strip()
    return s == "*" or bool(_ACCOUNT_WIDE.fullmatch(s))


def _statements(node: Any, path: str = "") -> Iterator[tuple[str, dict]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Statement":
                for i, st in enumerate(conditional_statements(value)):
                    yield f"{path}.Statement[{i}]", st
            else:
                yield from _statements(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _statements(item, f"{path}[{i}]")


def check_no_wildcard_resources(t: dict) -> list[str]:
    """No policy statement written in the template may grant on "*" or an account-wide ARN."""
    errors = []
    for path, st in _statements(t.get("Resources", {})):
        if "NotResource" in st:
            errors.append(f"{path}: NotResource is not allowed")
        if st.get("Effect") == "Allow" and "NotAction" in st:
            errors.append(f"{path}: Allow with NotAction is not allowed")
        for s in _resource_strings(st.get("Resource")):
            if is_wildcard_resource(s):
                errors.append(f"{path}: Resource {s!r} is a wildcard")
    return errors


def _managed_policy_name(v: Any) -> str | None:
    s = v.get("Fn::Sub") if isinstance(v, dict) else v
    if isinstance(s, list):
        s = s[0]
    if not isinstance(s, str):
        return None
    m = re.fullmatch(r"arn:(?:\$\{AWS::Partition\}|aws[a-z-]*):iam::aws:policy/(.+)", s)
    return m.group(1) if m else None


def check_roles(t: dict) -> list[str]:
    """Every function has its own explicit role (so SAM adds no managed SQS policy on "*"),
    and only the allow-listed AWS managed policies are attached."""
    errors = []
    role_owner: dict[str, str] = {}
    for lid in functions(t):
        rlid, role = role_of(t, lid)
        if role is None or role.get("Type") != "AWS::IAM::Role":
            errors.append(f"{lid}: Role must be !GetAtt <AWS::IAM::Role in this template>.Arn")
            continue
        if rlid in role_owner:
            errors.append(f"{lid}: shares role {rlid} with {role_owner[rlid]}")
        role_owner[rlid] = lid
        if "Policies" in t["Resources"][lid].get("Properties", {}):
            errors.append(f"{lid}: use the role's statements, not SAM Policies")
    for rlid, role in resources(t, "AWS::IAM::Role").items():
        owner = role_owner.get(rlid)
        for arn in role.get("Properties", {}).get("ManagedPolicyArns", []) or []:
            name = _managed_policy_name(arn)
            if name is None:
                errors.append(f"{rlid}: managed policy {arn!r} is not an AWS managed policy")
            elif owner not in ALLOWED_MANAGED_POLICIES.get(name, set()):
                errors.append(f"{rlid}: managed policy {name} not allowed for {owner}")
    return errors


def check_send_permissions(t: dict) -> list[str]:
    """sqs:SendMessage exactly on the queues a function is configured to write to, and
    sqs:ReceiveMessage/DeleteMessage/GetQueueAttributes on the queues it consumes."""
    errors = []
    for lid in functions(t):
        _, role = role_of(t, lid)
        if role is None:
            continue
        writes = {ref(v) for k, v in env_vars(t, lid).items() if k.endswith("QUEUE_URL")} - {None}
        granted_send = arn_targets(granted(role, "sqs:SendMessage"))
        if writes != granted_send:
            errors.append(f"{lid}: sqs:SendMessage on {sorted(granted_send)}, but writes to {sorted(writes)}")
        consumes = {getatt(p.get("Queue"))[0] for f, _, p in sqs_events(t) if f == lid and getatt(p.get("Queue"))}
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
            got = arn_targets(granted(role, action))
            if got != consumes:
                errors.append(f"{lid}: {action} on {sorted(got)}, but consumes {sorted(consumes)}")
    return errors


def check_dynamodb_permissions(t: dict) -> list[str]:
    errors = []
    for lid in functions(t):
        _, role = role_of(t, lid)
        if role is None:
            continue
        got: dict[str, set[str]] = {}
        for st in role_statements(role):
            for action in statement_actions(st):
                if action.startswith("dynamodb:"):
                    for target in arn_targets(as_list(st.get("Resource"))) or {"<non-GetAtt resource>"}:
                        got.setdefault(target, set()).add(action)
        want = {EXPECTED_DYNAMODB[lid][0]: EXPECTED_DYNAMODB[lid][1]} if lid in EXPECTED_DYNAMODB else {}
        if got != want:
            errors.append(f"{lid}: DynamoDB permissions {got} != {want}")
    return errors


def check_des_url(t: dict) -> list[str]:
    errors = []
    url_cfg = function_props(t, "Des").get("FunctionUrlConfig") if "Des" in t["Resources"] else None
    if not url_cfg or url_cfg.get("AuthType") != "AWS_IAM":
        errors.append("Des: FunctionUrlConfig.AuthType must be AWS_IAM")
    _, role = role_of(t, "Fred") if "Fred" in t["Resources"] else (None, None)
    if role is None or arn_targets(granted(role, "lambda:InvokeFunctionUrl")) != {"Des"}:
        errors.append("FredRole: lambda:InvokeFunctionUrl must be granted on Des only")
    des_url = env_vars(t, "Fred").get("DES_URL") if "Fred" in t["Resources"] else None
    if "DesUrl" not in json.dumps(des_url):
        errors.append("Fred: DES_URL must come from the DesUrl function URL")
    return errors


def check_environment(t: dict, expected: dict[str, list[str]] = EXPECTED_ENV) -> list[str]:
    errors = []
    fns = functions(t)
    if set(fns) != set(expected):
        errors.append(f"functions {sorted(fns)} != EXPECTED_ENV keys {sorted(expected)}")
    for lid in fns:
        got = set(env_vars(t, lid))
        want = set(expected.get(lid, []))
        if got != want:
            errors.append(f"{lid}: unexpected {sorted(got - want)}, missing {sorted(want - got)}")
        if env_vars(t, lid).get("METRICS_NAMESPACE") != EMF_NAMESPACE_VALUE:
            errors.append(f"{lid}: METRICS_NAMESPACE must be {EMF_NAMESPACE_VALUE!r}")
    return errors


# The partner API keys: which function reads which secret at run time, through which variable.
PARTNER_SECRETS = {
    "Dec": {"PPH_API_KEY_SECRET_ARN": "PphSecretArn"},
    "Bcg": {"CSL_API_KEY_SECRET_ARN": "CslSecretArn", "OSG_API_KEY_SECRET_ARN": "OsgSecretArn"},
    "Msq": {"OSG_API_KEY_SECRET_ARN": "OsgSecretArn"},
}
# Secrets the event source mappings read with the function's role (SASL/SCRAM for MSK).
MSK_SECRET = "MskSecretArn"


def check_partner_secrets(t: dict) -> list[str]:
    """No secret value in the template: no `{{resolve:...}}` anywhere, each partner key's secret
    passed by ARN, and `secretsmanager:GetSecretValue` on exactly the function's own secrets."""
    errors = []
    if "{{resolve:" in json.dumps(t.get("Resources", {})) + json.dumps(t.get("Globals", {})):
        errors.append("a dynamic reference resolves a secret into the template")
    msk_fns = {lid for lid, _, _ in msk_events(t)}
    for lid in functions(t):
        env = env_vars(t, lid)
        for var, param in PARTNER_SECRETS.get(lid, {}).items():
            if ref(env.get(var)) != param:
                errors.append(f"{lid}: {var} must be !Ref {param}")
        _, role = role_of(t, lid)
        if role is None:
            continue
        got = {ref(r) or json.dumps(r) for r in granted(role, "secretsmanager:GetSecretValue")}
        want = set(PARTNER_SECRETS.get(lid, {}).values()) | ({MSK_SECRET} if lid in msk_fns else set())
        if got != want:
            errors.append(f"{lid}: secretsmanager:GetSecretValue on {sorted(got)}, want {sorted(want)}")
    return errors


# Lambda counts a JSON line without `level` (EMF metrics) as INFO, so its filter never goes above
# INFO: WARN and ERROR stacks filter their own lines in the code (LOG_LEVEL).
APPLICATION_LOG_LEVEL = {"Fn::If": ["QuietLogLevel", "INFO", {"Ref": "LogLevel"}]}


def check_log_level_keeps_metrics(t: dict) -> list[str]:
    """For every LogLevel the template allows, the level Lambda filters at lets INFO lines
    (EMF, which have no `level` key) through."""
    errors = []
    order = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
    quiet = (t.get("Conditions") or {}).get("QuietLogLevel")
    for level in t["Parameters"]["LogLevel"]["AllowedValues"]:
        is_quiet = quiet == {"Fn::Or": [{"Fn::Equals": [{"Ref": "LogLevel"}, "WARN"]},
                                        {"Fn::Equals": [{"Ref": "LogLevel"}, "ERROR"]}]} and level in ("WARN", "ERROR")
        for lid in functions(t):
            configured = (function_props(t, lid).get("LoggingConfig") or {}).get("ApplicationLogLevel")
            if configured == APPLICATION_LOG_LEVEL:
                effective = "INFO" if is_quiet else level
            elif ref(configured) == "LogLevel":
                effective = level
            else:
                effective = configured
            if effective not in order or order.index(effective) > order.index("INFO"):
                errors.append(f"{lid}: at LogLevel {level} Lambda filters at {effective}, dropping EMF lines")
    return errors


# Reserved concurrency: exactly what the function's event sources can run at once, per value of
# SqsMaximumConcurrency (a row of the ReservedConcurrency mapping each function reads with
# !FindInMap), with KafkaMaximumPollers at the ceiling the template's rule enforces (each Kafka
# poller runs up to 5 invocations). DES: FRED's reserved concurrency x the DES requests one FRED
# invocation has in flight (one: FRED asks DES once per batch, in sequential chunks,
# shared/src/ports/decisions.rs). Every row leaves the account's default concurrency at least
# its 100 unreserved executions.
RESERVED_MAPPING = "ReservedConcurrency"
KAFKA_MAX_POLLERS_CEILING = 2
INVOCATIONS_PER_KAFKA_POLLER = 5
FRED_DES_REQUESTS_IN_FLIGHT = 1
ACCOUNT_CONCURRENCY = 1000
UNRESERVED_MINIMUM = 100


def reserved_concurrency_need(t: dict, sqs_concurrency: int) -> dict[str, int]:
    """What each function's event sources can run at once when SqsMaximumConcurrency is
    `sqs_concurrency`."""
    need = {lid: 0 for lid in functions(t)}
    for lid, _, _ in sqs_events(t):
        need[lid] += sqs_concurrency
    for lid, _, _ in msk_events(t):
        need[lid] += KAFKA_MAX_POLLERS_CEILING * INVOCATIONS_PER_KAFKA_POLLER
    need["Des"] = need.get("Fred", 0) * FRED_DES_REQUESTS_IN_FLIGHT
    return need


def check_reserved_concurrency(t: dict) -> list[str]:
    errors = []
    for lid, _, p in sqs_events(t):
        if ref((p.get("ScalingConfig") or {}).get("MaximumConcurrency")) != "SqsMaximumConcurrency":
            errors.append(f"{lid}: an SQS event source without MaximumConcurrency !Ref SqsMaximumConcurrency")
    param = t["Parameters"]["SqsMaximumConcurrency"]
    allowed = [str(v) for v in param.get("AllowedValues") or []]
    if not allowed:
        errors.append("SqsMaximumConcurrency: AllowedValues must list the rows of the ReservedConcurrency mapping")
    elif str(param.get("Default")) not in allowed:
        errors.append(f"SqsMaximumConcurrency: default {param.get('Default')} is not an allowed value")
    rows = (t.get("Mappings") or {}).get(RESERVED_MAPPING) or {}
    if set(rows) != set(allowed):
        errors.append(f"Mappings.{RESERVED_MAPPING}: rows {sorted(rows)} are not SqsMaximumConcurrency's "
                      f"allowed values {sorted(allowed)}")
    for lid in functions(t):
        got = function_props(t, lid).get("ReservedConcurrentExecutions")
        want = {"Fn::FindInMap": [RESERVED_MAPPING, {"Ref": "SqsMaximumConcurrency"}, lid]}
        if got != want:
            errors.append(f"{lid}: ReservedConcurrentExecutions must be !FindInMap [{RESERVED_MAPPING}, "
                          f"!Ref SqsMaximumConcurrency, {lid}], got {got!r}")
    for key, row in rows.items():
        need = reserved_concurrency_need(t, int(key))
        if set(row) != set(need):
            errors.append(f"Mappings.{RESERVED_MAPPING}.{key}: functions {sorted(row)}, expected {sorted(need)}")
        for lid, n in need.items():
            if row.get(lid) != n:
                errors.append(f"Mappings.{RESERVED_MAPPING}.{key}.{lid}: {row.get(lid)}, its event sources "
                              f"can run {n} at once")
        total = sum(v for v in row.values() if isinstance(v, int))
        if total > ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM:
            errors.append(f"Mappings.{RESERVED_MAPPING}.{key}: {total} reserved leaves fewer than "
                          f"{UNRESERVED_MINIMUM} of the account's default {ACCOUNT_CONCURRENCY}")
    kafka = [a["Assert"]["Fn::Contains"][0] for r in (t.get("Rules") or {}).values()
             for a in r.get("Assertions", []) if "Fn::Contains" in a.get("Assert", {})
             and a["Assert"]["Fn::Contains"][1] == {"Ref": "KafkaMaximumPollers"}]
    if not kafka or max(int(v) for v in kafka[0]) > KAFKA_MAX_POLLERS_CEILING:
        errors.append(f"Rules: KafkaMaximumPollers must be limited to {KAFKA_MAX_POLLERS_CEILING} (reserved concurrency)")
    return errors


DEPLOYMENT_MD = ROOT / "docs" / "deployment.md"


def check_reserved_concurrency_docs(t: dict, doc: str) -> list[str]:
    """docs/deployment.md's reserved concurrency table: the mapping's rows, their totals and
    what they leave of the account's default concurrency."""
    section = doc[doc.index("### Gradual deploys and reserved concurrency"):]
    end = section.find("\n## ")
    section = section if end < 0 else section[:end]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    header = next((line for line in lines if line.startswith("| function | from |")), None)
    if header is None:
        return ["docs/deployment.md: no reserved concurrency table (| function | from | ...)"]

    def numbers(cells: list[str]) -> list[int]:
        return [int(re.sub(r"\D", "", c) or -1) for c in cells]

    keys = [str(n) for n in numbers(header.strip("|").split("|")[2:])]
    documented: dict[str, list[int]] = {}
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        name = cells[0].replace("*", "").split(" ")[0]
        if len(cells) == len(keys) + 2 and name not in ("function", "---"):
            documented[name] = numbers(cells[2:])
    rows = t["Mappings"][RESERVED_MAPPING]
    errors = []
    if sorted(keys, key=int) != sorted(rows, key=int):
        errors.append(f"docs/deployment.md: columns {keys}, mapping rows {sorted(rows, key=int)}")
        return errors
    expected = {lid: [rows[k][lid] for k in keys] for lid in functions(t)}
    expected["total"] = [sum(rows[k].values()) for k in keys]
    expected["unreserved"] = [ACCOUNT_CONCURRENCY - sum(rows[k].values()) for k in keys]
    for name, values in expected.items():
        if documented.get(name) != values:
            errors.append(f"docs/deployment.md: {name} row {documented.get(name)}, the template's {values}")
    return errors


def test_reserved_concurrency_docs_are_the_mapping(template: dict) -> None:
    assert check_reserved_concurrency_docs(template, DEPLOYMENT_MD.read_text()) == []


def test_reserved_concurrency_docs_check_catches_a_difference(template: dict) -> None:
    broken = copy.deepcopy(template)
    broken["Mappings"][RESERVED_MAPPING]["20"]["Tim"] = 25
    errors = check_reserved_concurrency_docs(broken, DEPLOYMENT_MD.read_text())
    assert any("Tim row" in e for e in errors) and any("total row" in e for e in errors), errors


def check_functions_runtime(t: dict) -> list[str]:
    errors = []
    for lid, fn in functions(t).items():
        p = function_props(t, lid)
        meta = fn.get("Metadata", {})
        expect = {
            "Runtime": "provided.al2023",
            "Handler": "bootstrap",
            "Architectures": ["arm64"],
            "Tracing": "Active",
            "CodeUri": f"functions/{lid.lower()}",
        }
        for key, value in expect.items():
            if p.get(key) != value:
                errors.append(f"{lid}: {key} must be {value!r}, got {p.get(key)!r}")
        if meta.get("BuildMethod") != "rust-cargolambda":
            errors.append(f"{lid}: Metadata.BuildMethod must be rust-cargolambda")
        if (meta.get("BuildProperties") or {}).get("Binary") != lid.lower():
            errors.append(f"{lid}: Metadata.BuildProperties.Binary must be {lid.lower()!r}")
        if not isinstance(p.get("Timeout"), int):
            errors.append(f"{lid}: Timeout must be a literal number")
        if not isinstance(p.get("MemorySize"), int):
            errors.append(f"{lid}: MemorySize must be a literal number")
        lc = p.get("LoggingConfig") or {}
        if lc.get("LogFormat") != "JSON" or lc.get("ApplicationLogLevel") != APPLICATION_LOG_LEVEL:
            errors.append(f"{lid}: LoggingConfig must be JSON with ApplicationLogLevel {APPLICATION_LOG_LEVEL}")
        if p.get("AutoPublishAlias") != "live":
            errors.append(f"{lid}: AutoPublishAlias must be live (event sources then target the alias)")
        dp = p.get("DeploymentPreference") or {}
        if ref(dp.get("Type")) != "DeploymentPreferenceType":
            errors.append(f"{lid}: DeploymentPreference.Type must be !Ref DeploymentPreferenceType")
        rollback = {ref(a) for a in as_list(dp.get("Alarms"))}
        if f"{lid}ErrorsAlarm" not in rollback or not rollback <= set(resources(t, "AWS::CloudWatch::Alarm")):
            errors.append(f"{lid}: DeploymentPreference.Alarms must include {lid}ErrorsAlarm (rollback trigger)")
    return errors


def check_msk_sources(t: dict) -> list[str]:
    errors = []
    groups = []
    for lid, ename, p in msk_events(t):
        where = f"{lid}.Events.{ename}"
        if ref(p.get("Stream")) != "MskClusterArn":
            errors.append(f"{where}: Stream must be !Ref MskClusterArn")
        if p.get("StartingPosition") != "LATEST":
            errors.append(f"{where}: StartingPosition must be LATEST")
        if len(as_list(p.get("Topics"))) != 1:
            errors.append(f"{where}: an MSK event source mapping takes exactly one topic")
        if "BatchSize" not in p:
            errors.append(f"{where}: BatchSize missing")
        sac = as_list(p.get("SourceAccessConfigurations"))
        if not any(c.get("Type") == "SASL_SCRAM_512_AUTH" and ref(c.get("URI")) == "MskSecretArn" for c in sac):
            errors.append(f"{where}: needs SASL_SCRAM_512_AUTH with URI !Ref MskSecretArn")
        dest = ((p.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        want_dest = _if_provisioned({"Fn::GetAtt": ["KafkaFailureBucket", "Arn"]},
                                    {"Fn::GetAtt": [STAGE_DLQ.get(lid), "Arn"]})
        if dest != want_dest:
            errors.append(f"{where}: OnFailure destination must be the S3 bucket (provisioned) "
                          f"or {STAGE_DLQ.get(lid)} (on demand), got {dest!r}")
        for key, value in KAFKA_ERROR_HANDLING.items():
            if p.get(key) != _if_provisioned(value, NO_VALUE):
                errors.append(f"{where}: {key} must be {value!r} with provisioned pollers")
        if "KafkaProvisioned" not in json.dumps(p.get("ProvisionedPollerConfig")):
            errors.append(f"{where}: ProvisionedPollerConfig must follow KafkaPollerMode")
        reported = env_vars(t, lid).get("KAFKA_REPORT_BATCH_ITEM_FAILURES")
        if reported != _if_provisioned("true", "false"):
            errors.append(f"{lid}: KAFKA_REPORT_BATCH_ITEM_FAILURES must be 'true' exactly when "
                          "the mapping reports batch item failures")
        groups.append(json.dumps(p.get("ConsumerGroupId")))
        if p.get("ConsumerGroupId") is None:
            errors.append(f"{where}: ConsumerGroupId missing")
    if len(groups) != len(set(groups)):
        errors.append("MSK ConsumerGroupId values must be unique per event source mapping")
    return errors


NO_VALUE = {"Ref": "AWS::NoValue"}
# The error handling of every Kafka event source (provisioned pollers only).
KAFKA_ERROR_HANDLING = {
    "MaximumRetryAttempts": {"Ref": "KafkaMaximumRetryAttempts"},
    "MaximumRecordAgeInSeconds": {"Ref": "KafkaMaximumRecordAgeSeconds"},
    "BisectBatchOnFunctionError": True,
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
}


def _if_provisioned(then: Any, otherwise: Any) -> dict:
    return {"Fn::If": ["KafkaProvisioned", then, otherwise]}


def check_tables(t: dict) -> list[str]:
    errors = []
    tables = resources(t, "AWS::DynamoDB::Table")
    keys = {"TimStateTable": [("pk", "HASH")], "MsqTable": [("pk", "HASH"), ("sk", "RANGE")]}
    for lid, want_keys in keys.items():
        if lid not in tables:
            errors.append(f"table {lid} missing")
            continue
        p = tables[lid].get("Properties", {})
        got_keys = [(k.get("AttributeName"), k.get("KeyType")) for k in p.get("KeySchema", [])]
        if got_keys != want_keys:
            errors.append(f"{lid}: KeySchema {got_keys} != {want_keys}")
        types = {a.get("AttributeName"): a.get("AttributeType") for a in p.get("AttributeDefinitions", [])}
        if any(types.get(name) != "S" for name, _ in want_keys):
            errors.append(f"{lid}: key attributes must be strings")
        if p.get("BillingMode") != "PAY_PER_REQUEST":
            errors.append(f"{lid}: BillingMode must be PAY_PER_REQUEST")
        if p.get("TimeToLiveSpecification") != {"AttributeName": "expiresAt", "Enabled": True}:
            errors.append(f"{lid}: TTL must be enabled on expiresAt")
        if (p.get("SSESpecification") or {}).get("SSEEnabled") is not True:
            errors.append(f"{lid}: SSESpecification.SSEEnabled must be true")
        if tables[lid].get("DeletionPolicy") != "Retain":
            errors.append(f"{lid}: DeletionPolicy must be Retain")
        if (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled") is not True:
            errors.append(f"{lid}: point-in-time recovery must be enabled")
        if p.get("DeletionProtectionEnabled") is not True:
            errors.append(f"{lid}: DeletionProtectionEnabled must be true")
    return errors


def _alarms_on(t: dict, namespace: str, metric: str) -> list[dict]:
    out = []
    for a in resources(t, "AWS::CloudWatch::Alarm").values():
        p = a.get("Properties", {})
        if p.get("Namespace") == namespace and p.get("MetricName") == metric:
            out.append(p)
    return out


def _alarm_targets(alarms: list[dict], dim: str) -> set[str]:
    targets = set()
    for p in alarms:
        if not p.get("AlarmActions"):
            continue  # an alarm that can never notify anyone does not count
        for d in p.get("Dimensions", []):
            if d.get("Name") == dim:
                v = d.get("Value")
                target = ref(v) or (getatt(v) or (None,))[0]
                if target:
                    targets.add(target)
    return targets


def check_alarms(t: dict) -> list[str]:
    errors = []
    dlq_alarms = [p for p in _alarms_on(t, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
                  if p.get("Threshold") == 0 and p.get("ComparisonOperator") == "GreaterThanThreshold"]
    for lid in sorted(set(dlqs(t)) - _alarm_targets(dlq_alarms, "QueueName")):
        errors.append(f"{lid}: no ApproximateNumberOfMessagesVisible > 0 alarm")
    for lid in sorted(set(input_queues(t)) - _alarm_targets(_alarms_on(t, "AWS/SQS", "ApproximateAgeOfOldestMessage"), "QueueName")):
        errors.append(f"{lid}: no ApproximateAgeOfOldestMessage alarm")
    for metric in ("Errors", "Throttles"):
        for lid in sorted(set(functions(t)) - _alarm_targets(_alarms_on(t, "AWS/Lambda", metric), "FunctionName")):
            errors.append(f"{lid}: no {metric} alarm")
    msk_fns = {lid for lid, _, _ in msk_events(t)}
    for lid in sorted(msk_fns - _alarm_targets(_alarms_on(t, "AWS/Lambda", "OffsetLag"), "FunctionName")):
        errors.append(f"{lid}: no OffsetLag alarm")
    if "Des" not in _alarm_targets(_alarms_on(t, "AWS/Lambda", "Url5xxCount"), "FunctionName"):
        errors.append("Des: no Url5xxCount alarm on its function URL")
    for _, stage, partner in PARTNER_CALLS:
        if stage not in _emf_alarm_stages(t, f"{partner}Errors"):
            errors.append(f"{stage}: no {partner}Errors alarm (downstream errors per partner)")
    for _, stage, partner in API_KEY_CALLS:
        if stage not in _emf_alarm_stages(t, f"{partner}AuthRejected"):
            errors.append(f"{stage}: no {partner}AuthRejected alarm (rejected API key)")
    batch_stages = {lid.lower() for lid, _, _ in sqs_events(t)} | {lid.lower() for lid in msk_fns}
    for stage in sorted(batch_stages - _emf_alarm_stages(t, "BatchItemFailures")):
        errors.append(f"{stage}: no BatchItemFailures alarm")
    return errors


def _emf_alarm_stages(t: dict, metric: str) -> set[str]:
    """The Stage dimension values of the notifying alarms on an EMF metric of the stack."""
    stages = set()
    for a in resources(t, "AWS::CloudWatch::Alarm").values():
        p = a.get("Properties", {})
        if p.get("Namespace") != EMF_NAMESPACE_VALUE or p.get("MetricName") != metric or not p.get("AlarmActions"):
            continue
        dims = {d.get("Name"): d.get("Value") for d in p.get("Dimensions", [])}
        if ref(dims.get("Brand")) == "Brand" and isinstance(dims.get("Stage"), str):
            stages.add(dims["Stage"])
    return stages


def check_alarm_topic(t: dict) -> list[str]:
    """Every alarm notifies AlarmTopicArn on ALARM and OK, and no stack can be deployed without
    a topic (the parameter has no default and accepts only an SNS topic ARN)."""
    errors = []
    topic = [{"Ref": "AlarmTopicArn"}]
    for lid, a in resources(t, "AWS::CloudWatch::Alarm").items():
        for key in ("AlarmActions", "OKActions"):
            if a.get("Properties", {}).get(key) != topic:
                errors.append(f"{lid}: {key} must be [!Ref AlarmTopicArn]")
    param = t["Parameters"].get("AlarmTopicArn", {})
    if "Default" in param or re.fullmatch(param.get("AllowedPattern", ""), ""):
        errors.append("AlarmTopicArn must be required (no default, empty not allowed)")
    return errors


def dashboard_body(t: dict) -> dict:
    boards = resources(t, "AWS::CloudWatch::Dashboard")
    assert len(boards) == 1, "exactly one dashboard expected"
    body = next(iter(boards.values()))["Properties"]["DashboardBody"]
    if isinstance(body, dict):
        body = body["Fn::Sub"]
        body = body[0] if isinstance(body, list) else body
    return json.loads(_PLACEHOLDER.sub("X", body))


_SEARCH = re.compile(r"SEARCH\('\{([^}]*)\}\s+MetricName=\"([A-Za-z]+)\"")


def check_dashboard(t: dict) -> list[str]:
    errors = []
    try:
        body = dashboard_body(t)
    except (AssertionError, ValueError, KeyError) as e:
        return [f"dashboard: {e}"]
    found: dict[str, set[frozenset]] = {}
    for w in body.get("widgets", []):
        for row in (w.get("properties") or {}).get("metrics", []):
            for item in row:
                if isinstance(item, dict) and "expression" in item:
                    for m in _SEARCH.finditer(item["expression"]):
                        schema = [s.strip() for s in m.group(1).split(",")]
                        if schema[0] == EMF_NAMESPACE_IN_DASHBOARD:
                            found.setdefault(m.group(2), set()).add(frozenset(schema[1:]))
    for metric, dims in EMF_METRICS.items():
        if frozenset(dims) not in found.get(metric, set()):
            errors.append(f"dashboard: no widget for {metric} with dimensions {sorted(dims)}")
    return errors


def check_outputs(t: dict) -> list[str]:
    errors = []
    values = [json.dumps(o.get("Value"), sort_keys=True) for o in (t.get("Outputs") or {}).values()]
    want = {f"queue {q}": {"Ref": q} for q in queues(t)}
    want.update({f"table {tb}": {"Ref": tb} for tb in resources(t, "AWS::DynamoDB::Table")})
    want["DES function URL"] = {"Fn::GetAtt": ["DesUrl", "FunctionUrl"]}
    for what, value in want.items():
        if json.dumps(value, sort_keys=True) not in values:
            errors.append(f"outputs: nothing outputs {what}")
    return errors


CHECKS: dict[str, Callable[[dict], list[str]]] = {
    "sqs_event_sources": check_sqs_event_sources,
    "fifo_queues": check_fifo_queues,
    "event_sources_match_architecture": check_event_sources_match_architecture,
    "queues": check_queues,
    "dlq_routing": check_dlq_routing,
    "visibility_timeouts": check_visibility_timeouts,
    "no_wildcard_resources": check_no_wildcard_resources,
    "roles": check_roles,
    "send_permissions": check_send_permissions,
    "dynamodb_permissions": check_dynamodb_permissions,
    "des_url": check_des_url,
    "environment": check_environment,
    "partner_secrets": check_partner_secrets,
    "functions_runtime": check_functions_runtime,
    "log_level_keeps_metrics": check_log_level_keeps_metrics,
    "reserved_concurrency": check_reserved_concurrency,
    "msk_sources": check_msk_sources,
    "tables": check_tables,
    "alarms": check_alarms,
    "alarm_topic": check_alarm_topic,
    "dashboard": check_dashboard,
    "outputs": check_outputs,
}


# ---------------------------------------------------------------------------
# Tests over the real template
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_template_rule(template: dict, name: str) -> None:
    assert CHECKS[name](template) == []


def test_expected_env_lists_have_no_duplicates() -> None:
    for lid, names in EXPECTED_ENV.items():
        assert len(names) == len(set(names)), lid


def sam_transform(t: dict) -> dict:
    """SAM -> CloudFormation, as `sam validate`/`sam deploy` would, without AWS calls."""
    from samtranslator.translator.transform import transform

    sam = copy.deepcopy(t)
    for fn in functions(sam).values():
        fn["Properties"]["CodeUri"] = "s3://bucket/key"  # what sam build + package put there

    class NoManagedPolicyLookups:
        def load(self) -> dict:
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    return transform(sam, {}, NoManagedPolicyLookups())


def check_transformed_roles(cfn: dict) -> list[str]:
    """After the SAM transform: no wildcard statement, and no managed policy beyond the
    allow-list (SAM attaches AWSLambdaSQSQueueExecutionRole, sqs:* on "*", to roles it generates)."""
    errors = check_no_wildcard_resources(cfn)
    for lid, role in resources(cfn, "AWS::IAM::Role").items():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            if _managed_policy_name(arn) not in ALLOWED_MANAGED_POLICIES:
                errors.append(f"{lid}: SAM attached managed policy {arn!r}")
    return errors


def test_sam_transform_adds_no_wildcard_policies(template: dict) -> None:
    cfn = sam_transform(template)
    assert not any(r["Type"].startswith("AWS::Serverless::") for r in cfn["Resources"].values())
    assert check_transformed_roles(cfn) == []
    mappings = resources(cfn, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == sum(len(v) for v in EXPECTED_SQS_TRIGGERS.values()) + sum(EXPECTED_MSK_EVENTS.values())
    assert resources(cfn, "AWS::Lambda::Url").keys() == {"DesUrl"}
    # Gradual deploys: every event source and DES's URL invoke the `live` alias, not $LATEST.
    for lid, mapping in mappings.items():
        target = mapping["Properties"]["FunctionName"]
        assert isinstance(target, dict) and target.get("Ref", "").endswith("Aliaslive"), (lid, target)
    assert cfn["Resources"]["DesUrl"]["Properties"]["TargetFunctionArn"] == {"Ref": "DesAliaslive"}


def test_sam_generated_role_is_caught(template: dict) -> None:
    broken = copy.deepcopy(template)
    del broken["Resources"]["Bcg"]["Properties"]["Role"]
    del broken["Resources"]["BcgRole"]
    errors = check_transformed_roles(sam_transform(broken))
    assert any("AWSLambdaSQSQueueExecutionRole" in e for e in errors), errors


def test_cfn_lint_reports_nothing() -> None:
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(TEMPLATE, config=ManualArgs(regions=["eu-west-1"], include_checks=["I"]))
    assert [str(m) for m in matches] == []


def test_samconfig_environments() -> None:
    import tomllib

    cfg = tomllib.loads(SAMCONFIG.read_text())
    assert str(cfg["version"]) == "0.1"
    for env in ("default", "dev", "prod"):
        assert env in cfg, env
        deploy = cfg[env]["deploy"]["parameters"]
        glob = cfg[env]["global"]["parameters"]
        assert glob["stack_name"]
        assert glob["region"] == "eu-west-1"
        assert deploy["capabilities"] == "CAPABILITY_IAM"
        assert deploy["resolve_s3"] is True
        overrides = deploy["parameter_overrides"]
        assert f'Env="{"sandbox" if env == "default" else env}"' in overrides
        assert re.search(r'AlarmTopicArn="arn:aws:sns:[a-z0-9-]+:[0-9]{12}:[^"]+"', overrides), (
            f"{env}: samconfig must name the environment's alarm topic")
    assert cfg["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
    names = {cfg[e]["global"]["parameters"]["stack_name"] for e in ("default", "dev", "prod")}
    assert len(names) == 3, "each environment deploys its own stack"


# ---------------------------------------------------------------------------
# The rules catch broken templates
# ---------------------------------------------------------------------------
def test_misspelt_report_batch_item_failures_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / "template.yaml"
    broken.write_text(TEMPLATE.read_text().replace("[ReportBatchItemFailures]", "[ReportBatchItemFailure]"))
    errors = check_sqs_event_sources(load_template(broken))
    n_sqs = sum(len(v) for v in EXPECTED_SQS_TRIGGERS.values())
    assert len(errors) == n_sqs, errors
    assert all("ReportBatchItemFailures" in e for e in errors)


def test_runner_batch_size_is_the_template_default(template: dict) -> None:
    """The local runner and the benchmark deliver SQS batches of the size the stack deploys."""
    source = (ROOT / "local" / "scenario-runner" / "src" / "queues.rs").read_text()
    for constant, parameter in [("BATCH_SIZE", "SqsBatchSize"), ("FIFO_BATCH_SIZE", "FifoBatchSize")]:
        match = re.search(rf"pub const {constant}: usize = (\d+);", source)
        assert match, f"{constant} not found in local/scenario-runner/src/queues.rs"
        assert int(match.group(1)) == int(template["Parameters"][parameter]["Default"])


LATENCY_RS = ROOT / "local" / "bench" / "src" / "latency" / "mod.rs"


def check_latency_model_settings(t: dict, source: str) -> list[str]:
    """The latency model's `TEMPLATE` settings (local/bench/src/latency/mod.rs) against the
    template's defaults: the batch sizes, the batching windows and SqsMaximumConcurrency."""
    start = source.find("pub const TEMPLATE: Settings = Settings {")
    if start < 0:
        return [f"pub const TEMPLATE: Settings not found in {LATENCY_RS}"]
    body = source[start:source.index("};", start)]
    model = {k: float(v.replace("_", "")) for k, v in re.findall(r"(\w+): ([\d_.]+),", body)}
    params = t["Parameters"]

    def windows(events: Iterator[tuple[str, str, dict]]) -> set[float]:
        return {1000.0 * float(p.get("MaximumBatchingWindowInSeconds", 0)) for _, _, p in events}

    standard = [(lid, e, p) for lid, e, p in sqs_events(t) if not is_fifo(t, getatt(p["Queue"])[0])]
    template = {
        "msk_batch": {float(params["MskBatchSize"]["Default"])},
        "msk_window_ms": windows(msk_events(t)),
        "fifo_batch": {float(params["FifoBatchSize"]["Default"])},
        "standard_batch": {float(params["SqsBatchSize"]["Default"])},
        "standard_window_ms": windows(iter(standard)),
        "max_concurrency": {float(params["SqsMaximumConcurrency"]["Default"])},
    }
    errors = [f"{lid}.{e}: BatchSize must be !Ref MskBatchSize, the model's DEC batch"
              for lid, e, p in msk_events(t) if lid == "Dec" and ref(p.get("BatchSize")) != "MskBatchSize"]
    for field, values in template.items():
        if values != {model.get(field)}:
            errors.append(f"latency::TEMPLATE.{field} is {model.get(field)}, the template's is {sorted(values)}")
    return errors


def test_latency_model_settings_are_the_template_defaults(template: dict) -> None:
    """The latency model (`rewards bench`) reports the settings the stack deploys by default."""
    assert check_latency_model_settings(template, LATENCY_RS.read_text()) == []


def test_latency_model_settings_check_catches_a_difference(template: dict) -> None:
    broken = copy.deepcopy(template)
    broken["Parameters"]["SqsMaximumConcurrency"]["Default"] = 10
    assert check_latency_model_settings(broken, LATENCY_RS.read_text()) != []
    broken = copy.deepcopy(template)
    _res(broken, "Dec")["Events"]["CppActivity"]["Properties"]["MaximumBatchingWindowInSeconds"] = 0
    assert check_latency_model_settings(broken, LATENCY_RS.read_text()) != []
    broken = copy.deepcopy(template)
    _res(broken, "Dec")["Events"]["EppmActivity"]["Properties"]["BatchSize"] = {"Ref": "OnlineBatchSize"}
    assert check_latency_model_settings(broken, LATENCY_RS.read_text()) != []


def test_runner_fifo_queues_are_the_template_fifo_queues(template: dict) -> None:
    """The queues the runner and the functions treat as FIFO are the stack's FIFO queues."""
    source = (ROOT / "shared" / "src" / "ports" / "publisher" / "mod.rs").read_text()
    body = source[source.index("pub fn is_fifo"):]
    body = body[:body.index("\n    }\n")]
    fifo = set(re.findall(r"Destination::(\w+)", body))
    names = {"EnrichedEvents": "CppEnrichedEventsQueue", "RelevantEvents": "RelevantEventsQueue",
             "UnqualificationEvents": "RelevantUnqualificationEventsQueue",
             "DecidedEvents": "DecidedEventsQueue", "MsqInbound": "MsqInboundQueue",
             "MsqDelete": "MsqInboundDeleteQueue"}
    for destination, queue in names.items():
        assert is_fifo(template, queue) == (destination in fifo), destination


def test_cycle_time_zone_pattern_is_the_zones_bcg_is_built_with(template: dict) -> None:
    """A stack can only be given a cycle time zone that BCG's binary carries."""
    config = (ROOT / ".cargo" / "config.toml").read_text()
    match = re.search(r'^CHRONO_TZ_TIMEZONE_FILTER = "(.*)"$', config, re.MULTILINE)
    assert match, "CHRONO_TZ_TIMEZONE_FILTER not found in .cargo/config.toml"
    parameter = template["Parameters"]["CycleStartTimeZone"]
    assert parameter["AllowedPattern"] == match.group(1)
    assert re.fullmatch(parameter["AllowedPattern"], parameter["Default"])
    assert not re.fullmatch(parameter["AllowedPattern"], "America/New_York")


def _res(t: dict, lid: str) -> dict:
    return t["Resources"][lid]["Properties"]


def _first_sqs_event(t: dict, fn: str) -> dict:
    return next(p for f, _, p in sqs_events(t) if f == fn)


def _add_statement(t: dict, role: str, statement: dict) -> None:
    _res(t, role)["Policies"][0]["PolicyDocument"]["Statement"].append(statement)


MUTATIONS: dict[str, tuple[str, Callable[[dict], None]]] = {
    "extra response type": ("sqs_event_sources", lambda t: _first_sqs_event(t, "Tim").update(
        FunctionResponseTypes=["ReportBatchItemFailures", "Other"])),
    "no batching window": ("sqs_event_sources", lambda t: _first_sqs_event(t, "Msq").pop("MaximumBatchingWindowInSeconds")),
    "batching window on a FIFO source": ("sqs_event_sources", lambda t: _first_sqs_event(t, "Bcg").update(
        MaximumBatchingWindowInSeconds=1)),
    "FIFO batch above 10": ("sqs_event_sources", lambda t: t["Parameters"]["FifoBatchSize"].update(Default=20)),
    "ordered queue made standard": ("fifo_queues", lambda t: _res(t, "DecidedEventsQueue").pop("FifoQueue")),
    "FIFO queue redriving to a standard DLQ": ("fifo_queues", lambda t: _res(t, "TimDlq").pop("FifoQueue")),
    "no max concurrency": ("sqs_event_sources", lambda t: _first_sqs_event(t, "Fred").pop("ScalingConfig")),
    "literal batch size": ("sqs_event_sources", lambda t: _first_sqs_event(t, "Msq").update(BatchSize=10)),
    "big batches without a window": ("sqs_event_sources", lambda t: _first_sqs_event(t, "Msq").update(
        MaximumBatchingWindowInSeconds=0)),
    "queue without SSE": ("queues", lambda t: _res(t, "DecidedEventsQueue").pop("SqsManagedSseEnabled")),
    "DLQ without SSE": ("queues", lambda t: _res(t, "MsqDlq").update(SqsManagedSseEnabled=False)),
    "queue without redrive": ("queues", lambda t: _res(t, "RelevantEventsQueue").pop("RedrivePolicy")),
    "redrive to missing queue": ("queues", lambda t: _res(t, "RelevantEventsQueue")["RedrivePolicy"].update(
        deadLetterTargetArn={"Fn::GetAtt": ["NoSuchDlq", "Arn"]})),
    "redrive to wrong stage DLQ": ("dlq_routing", lambda t: _res(t, "DecidedEventsQueue")["RedrivePolicy"].update(
        deadLetterTargetArn={"Fn::GetAtt": ["TimDlq", "Arn"]})),
    "short visibility timeout": ("visibility_timeouts", lambda t: _res(t, "DecidedEventsQueue").update(VisibilityTimeout=359)),
    "longer function timeout": ("visibility_timeouts", lambda t: _res(t, "Tim").update(Timeout=30)),
    "global timeout applies": ("visibility_timeouts", lambda t: (_res(t, "Tim").pop("Timeout"),
                                                                 t["Globals"]["Function"].update(Timeout=120))),
    "star resource": ("no_wildcard_resources", lambda t: _add_statement(
        t, "TimRole", {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"})),
    "account-wide resource": ("no_wildcard_resources", lambda t: _add_statement(
        t, "BcgRole", {"Effect": "Allow", "Action": "sqs:SendMessage",
                       "Resource": {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:*"}})),
    "SAM policy template": ("roles", lambda t: (_res(t, "Bcg").pop("Role"),
                                                _res(t, "Bcg").update(Policies=[{"SQSPollerPolicy": {"QueueName": "x"}}]))),
    "extra managed policy": ("roles", lambda t: _res(t, "TimRole")["ManagedPolicyArns"].append(
        "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole")),
    "send to an unconfigured queue": ("send_permissions", lambda t: _add_statement(
        t, "FredRole", {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["MsqInboundQueue", "Arn"]}})),
    "missing send permission": ("send_permissions", lambda t: _res(t, "BcgRole")["Policies"][0]["PolicyDocument"]["Statement"][2]
                                ["Resource"].pop(0)),
    "TIM reads its table": ("dynamodb_permissions", lambda t: _add_statement(
        t, "TimRole", {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": {"Fn::GetAtt": ["TimStateTable", "Arn"]}})),
    "public DES URL": ("des_url", lambda t: _res(t, "Des")["FunctionUrlConfig"].update(AuthType="NONE")),
    "extra env var": ("environment", lambda t: _res(t, "Des")["Environment"]["Variables"].update(EXTRA="1")),
    "missing env var": ("environment", lambda t: _res(t, "Bcg")["Environment"]["Variables"].pop("CSL_API_KEY_SECRET_ARN")),
    "missing global env var": ("environment", lambda t: t["Globals"]["Function"]["Environment"]["Variables"].pop("BRAND")),
    "secret resolved at deploy time": ("partner_secrets", lambda t: _res(t, "Dec")["Environment"]["Variables"].update(
        PPH_API_KEY_SECRET_ARN={"Fn::Sub": "{{resolve:secretsmanager:${PphSecretArn}:SecretString:apiKey}}"})),
    "secret readable by another function": ("partner_secrets", lambda t: _add_statement(
        t, "TimRole", {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": {"Ref": "OsgSecretArn"}})),
    "x86 function": ("functions_runtime", lambda t: _res(t, "Msq").update(Architectures=["x86_64"])),
    "other build method": ("functions_runtime", lambda t: t["Resources"]["Dec"]["Metadata"].update(BuildMethod="makefile")),
    "MSK without on-failure": ("msk_sources", lambda t: next(p for f, _, p in msk_events(t) if f == "Msq").pop("DestinationConfig")),
    "MSK retried without bound": ("msk_sources", lambda t: next(p for f, _, p in msk_events(t) if f == "Dec").pop("MaximumRetryAttempts")),
    "MSK without bisect": ("msk_sources", lambda t: next(p for f, _, p in msk_events(t) if f == "Dec").pop("BisectBatchOnFunctionError")),
    "MSK without partial responses": ("msk_sources", lambda t: next(p for f, _, p in msk_events(t) if f == "Msq").pop("FunctionResponseTypes")),
    "MSK failures to metadata only": ("msk_sources", lambda t: next(p for f, _, p in msk_events(t) if f == "Dec")["DestinationConfig"]
                                      ["OnFailure"].update(Destination={"Fn::GetAtt": ["DecDlq", "Arn"]})),
    "partial responses unknown to the code": ("msk_sources", lambda t: _res(t, "Dec")["Environment"]["Variables"].update(
        KAFKA_REPORT_BATCH_ITEM_FAILURES="true")),
    "MSK with two topics": ("msk_sources", lambda t: next(p for f, _, p in msk_events(t) if f == "Dec")["Topics"].append("x")),
    "table without TTL": ("tables", lambda t: _res(t, "TimStateTable").pop("TimeToLiveSpecification")),
    "table without SSE": ("tables", lambda t: _res(t, "MsqTable").pop("SSESpecification")),
    "TIM without PITR": ("tables", lambda t: _res(t, "TimStateTable").pop("PointInTimeRecoverySpecification")),
    "table deletable": ("tables", lambda t: _res(t, "MsqTable").pop("DeletionProtectionEnabled")),
    "EMF filtered at WARN": ("log_level_keeps_metrics", lambda t: t["Globals"]["Function"]["LoggingConfig"].update(
        ApplicationLogLevel={"Ref": "LogLevel"})),
    "no reserved concurrency": ("reserved_concurrency", lambda t: _res(t, "Tim").pop("ReservedConcurrentExecutions")),
    "reserved concurrency not from the mapping": ("reserved_concurrency", lambda t: _res(t, "Bcg").update(
        ReservedConcurrentExecutions=50)),
    "DES below FRED's": ("reserved_concurrency", lambda t: t["Mappings"]["ReservedConcurrency"]["50"].update(Des=50)),
    "MSQ below its sources": ("reserved_concurrency", lambda t: t["Mappings"]["ReservedConcurrency"]["20"].update(Msq=40)),
    "FRED above its sources": ("reserved_concurrency", lambda t: t["Mappings"]["ReservedConcurrency"]["10"].update(Fred=30)),
    "a row without TIM": ("reserved_concurrency", lambda t: t["Mappings"]["ReservedConcurrency"]["100"].pop("Tim")),
    "an allowed value without a row": ("reserved_concurrency", lambda t: t["Mappings"]["ReservedConcurrency"].pop("20")),
    "SQS concurrency unbounded": ("reserved_concurrency", lambda t: t["Parameters"]["SqsMaximumConcurrency"].pop(
        "AllowedValues")),
    "a row beyond the account": ("reserved_concurrency", lambda t: (
        t["Parameters"]["SqsMaximumConcurrency"]["AllowedValues"].append(200),
        t["Mappings"]["ReservedConcurrency"].update({"200": reserved_concurrency_need(t, 200)}))),
    "Kafka pollers unbounded": ("reserved_concurrency", lambda t: t["Rules"].pop("ReservedConcurrencyCoversEventSources")),
    "no alias": ("functions_runtime", lambda t: t["Globals"]["Function"].pop("AutoPublishAlias")),
    "no rollback alarm": ("functions_runtime", lambda t: _res(t, "Bcg")["DeploymentPreference"].pop("Alarms")),
    "MSQ without PITR": ("tables", lambda t: _res(t, "MsqTable").pop("PointInTimeRecoverySpecification")),
    "DLQ without alarm": ("alarms", lambda t: t["Resources"].pop("FredDlqNotEmptyAlarm")),
    "function without throttle alarm": ("alarms", lambda t: t["Resources"].pop("DesThrottlesAlarm")),
    "no DES 5xx alarm": ("alarms", lambda t: t["Resources"].pop("Des5xxAlarm")),
    "no partner error alarm": ("alarms", lambda t: t["Resources"].pop("MsqOsgErrorsAlarm")),
    "no rejected key alarm": ("alarms", lambda t: t["Resources"].pop("DecPphAuthRejectedAlarm")),
    "no batch item failure alarm": ("alarms", lambda t: t["Resources"].pop("FredBatchItemFailuresAlarm")),
    "alarm in the shared namespace": ("alarms", lambda t: _res(t, "BcgCslErrorsAlarm").update(Namespace="RewardMessaging")),
    "alarm notifying no one": ("alarm_topic", lambda t: _res(t, "TimErrorsAlarm").pop("AlarmActions")),
    "optional alarm topic": ("alarm_topic", lambda t: t["Parameters"]["AlarmTopicArn"].update(Default="")),
    "namespace without the environment": ("environment", lambda t: t["Globals"]["Function"]["Environment"]["Variables"].update(
        METRICS_NAMESPACE="RewardMessaging")),
    "no offset lag alarm": ("alarms", lambda t: t["Resources"].pop("MsqOffsetLagAlarm")),
    "dashboard lacks a metric": ("dashboard", lambda t: _res(t, "Dashboard").update(DashboardBody={
        "Fn::Sub": _res(t, "Dashboard")["DashboardBody"]["Fn::Sub"].replace("CacheHits", "CacheHit")})),
    "missing queue output": ("outputs", lambda t: t["Outputs"].pop("MsqDlqUrl")),
    "missing DES URL output": ("outputs", lambda t: t["Outputs"].pop("DesFunctionUrl")),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_rule_catches_broken_copy(template: dict, mutation: str) -> None:
    check_name, mutate = MUTATIONS[mutation]
    broken = copy.deepcopy(template)
    mutate(broken)
    assert CHECKS[check_name](broken) != [], f"{check_name} did not notice: {mutation}"


STACK_RS = ROOT / "local" / "aws-runner" / "src" / "resources" / "stack.rs"


def _rust_str(source: str, name: str) -> str:
    match = re.search(rf'pub const {name}: &str = "([^"]*)";', source)
    assert match, f"{name} not found in {STACK_RS}"
    return match.group(1)


def _rust_number(source: str, name: str) -> int:
    match = re.search(rf"pub const {name}: u32 = ([\d_]+);", source)
    assert match, f"{name} not found in {STACK_RS}"
    return int(match.group(1).replace("_", ""))


def _rust_table(source: str, name: str) -> tuple[str, str | None, str | None]:
    body = source[source.index(f"pub const {name}: TableSchema"):]
    body = body[:body.index("};")]
    hash_key = re.search(r'hash_key: "([^"]+)"', body)
    range_key = re.search(r'range_key: Some\("([^"]+)"\)', body)
    ttl = re.search(r"ttl_attribute: Some\((\w+)\)", body)
    assert hash_key, body
    return (hash_key.group(1), range_key and range_key.group(1),
            ttl and _rust_str(source, ttl.group(1)))


def test_local_resources_are_declared_as_in_the_template(template: dict) -> None:
    """The tables and queues the `--aws` runner, the benchmarks and the moto tests create have
    the stack's key schemas, TTL, retention and redrive count (`local/aws-runner/src/resources/stack.rs`)."""
    source = STACK_RS.read_text()
    tables = resources(template, "AWS::DynamoDB::Table")
    for rust_name, logical_id in [("TIM_TABLE", "TimStateTable"), ("MSQ_TABLE", "MsqTable")]:
        props = tables[logical_id]["Properties"]
        keys = {k["KeyType"]: k["AttributeName"] for k in props["KeySchema"]}
        ttl = props["TimeToLiveSpecification"]
        declared = (keys["HASH"], keys.get("RANGE"), ttl["AttributeName"] if ttl["Enabled"] else None)
        assert _rust_table(source, rust_name) == declared, rust_name
        assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert {_rust_number(source, "QUEUE_RETENTION_SECONDS")} == {
        int(q["Properties"]["MessageRetentionPeriod"]) for q in input_queues(template).values()}
    assert {_rust_number(source, "DEAD_LETTER_RETENTION_SECONDS")} == {
        int(q["Properties"]["MessageRetentionPeriod"]) for q in dlqs(template).values()}
    runner = (ROOT / "local" / "scenario-runner" / "src" / "queues.rs").read_text()
    match = re.search(r"pub const MAX_RECEIVE_COUNT: u32 = (\d+);", runner)
    assert match, "MAX_RECEIVE_COUNT not found in local/scenario-runner/src/queues.rs"
    assert int(match.group(1)) == int(template["Parameters"]["MaxReceiveCount"]["Default"])
