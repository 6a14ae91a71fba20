"""TIM written the way a team would write it with Powertools for AWS Lambda (Python).

The benchmark peer of our Rust TIM: the same rules (spec section 4) on the same
enriched CloudEvents, with Powertools' batch processor (partial batch responses) and its
idempotency utility on DynamoDB (one record per activity, keyed on the activity's
accountId, promoCode, attemptId and sequence), and the reward state in a table of its own,
read with GetItem and written with a conditional PutItem. Outputs go to SQS with
send_message, record by record, as a record handler does. Not part of the product.

Environment: TIM_TABLE, IDEMPOTENCY_TABLE, TIM_FILTER_TAG (default "tim"),
RELEVANT_QUEUE_URL, UNQUALIFICATION_QUEUE_URL, MSQ_DELETE_QUEUE_URL.
"""

import json
import os
import uuid
from datetime import datetime, timezone

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="tim")
processor = BatchProcessor(event_type=EventType.SQS)
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
idempotency = IdempotencyConfig(
    event_key_jmespath="[accountId, promoCode, attemptId, sequence]",
    expires_after_seconds=7 * 24 * 3600,
)
state_table = boto3.resource("dynamodb").Table(os.environ["TIM_TABLE"])
sqs = boto3.client("sqs")

FILTER_TAG = os.environ.get("TIM_FILTER_TAG", "tim")
RELEVANT = os.environ["RELEVANT_QUEUE_URL"]
UNQUALIFICATION = os.environ["UNQUALIFICATION_QUEUE_URL"]
MSQ_DELETE = os.environ["MSQ_DELETE_QUEUE_URL"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@idempotent_function(
    data_keyword_argument="activity", config=idempotency, persistence_store=persistence
)
def apply_rules(activity: dict) -> dict:
    key = f"{activity['accountId']}#{activity['promoCode']}#{activity['attemptId']}"
    stored = state_table.get_item(Key={"pk": key}, ConsistentRead=True).get("Item") or {}
    sequence = int(activity["sequence"])
    if stored and int(stored["sequence"]) >= sequence:
        return {"verdict": "duplicate"}
    progress = {p["rewardSchemeId"]: int(p["current"]) for p in activity["rewardProgress"]}
    before = {k: int(v) for k, v in (stored.get("progress") or {}).items()}
    awarded = bool(stored.get("awarded", False))
    status = activity["status"]
    verdict, destination, message_type = "state-only", None, None
    if status == "OPTED_IN":
        verdict, destination, message_type = "emit", RELEVANT, "OPT_IN"
    elif status == "IN_PROGRESS":
        if any(current > before.get(scheme, 0) for scheme, current in progress.items()):
            verdict, destination, message_type = "emit", RELEVANT, "PROGRESS"
        else:
            verdict = "no-progress"
    elif status == "REWARD_AWARDED":
        if awarded:
            verdict = "duplicate"
        else:
            verdict, destination, message_type = "emit", RELEVANT, "REWARD_AWARDED"
            awarded = True
    elif status == "REWARD_SPENT":
        if awarded:
            verdict, destination, message_type = "delete", MSQ_DELETE, None
    elif status == "UNQUALIFIED":
        verdict, destination, message_type = "emit", UNQUALIFICATION, "UNQUALIFICATION"
    try:
        state_table.put_item(
            Item={"pk": key, "sequence": sequence, "progress": progress, "awarded": awarded},
            ConditionExpression="attribute_not_exists(pk) OR #s < :s",
            ExpressionAttributeNames={"#s": "sequence"},
            ExpressionAttributeValues={":s": sequence},
        )
    except state_table.meta.client.exceptions.ConditionalCheckFailedException:
        return {"verdict": "duplicate"}
    return {"verdict": verdict, "destination": destination, "messageType": message_type}


def record_handler(record: SQSRecord) -> None:
    event = json.loads(record.body)
    activity = event["data"]
    if FILTER_TAG not in activity.get("tags", []):
        logger.info("event dropped", extra={"outcome": "dropped", "reason": "filtered"})
        return
    result = apply_rules(activity=activity)
    if result["verdict"] not in ("emit", "delete"):
        if result["verdict"] != "state-only":
            logger.info("event dropped", extra={"outcome": "dropped", "reason": result["verdict"]})
        return
    outgoing = dict(event)
    outgoing["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "tim/" + event["id"]))
    outgoing["source"] = "/rewards/tim"
    outgoing["tstim"] = _now()
    if result["verdict"] == "delete":
        outgoing["type"] = "rewards.message.delete"
        outgoing["data"] = {k: activity[k] for k in ("accountId", "promoCode", "attemptId", "sequence")}
    else:
        outgoing["type"] = "rewards.relevant"
        outgoing["data"] = dict(activity, messageType=result["messageType"])
    sqs.send_message(QueueUrl=result["destination"], MessageBody=json.dumps(outgoing))


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    idempotency.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
