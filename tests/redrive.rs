//! `rewards redrive` against moto's SQS: dead letters go back to their stage's input queue (a
//! FIFO one keeping the group and getting a deduplication id), DEC's are replayed as the Kafka
//! record they were, a dry run moves nothing, `--max` bounds the run, and a letter that cannot
//! move stays in the DLQ. Run through `scripts/with-moto.sh cargo test -p rewards-tests`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName};
use futures::future::BoxFuture;
use redrive::{DecReplay, Redrive, Target};
use rewards_shared::kafka::KafkaBatchResponse;
use rewards_shared::stage::Stage;
use rewards_tests::{attribute, moto_config, receive, unique};

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    let mut create = sqs.create_queue().queue_name(name);
    if name.ends_with(".fifo") {
        create = create.attributes(QueueAttributeName::FifoQueue, "true");
    }
    create
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("url")
}

async fn dead_letter(sqs: &aws_sdk_sqs::Client, dlq: &str, body: &str, source: &str) {
    let text = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .expect("attribute")
    };
    sqs.send_message()
        .queue_url(dlq)
        .message_body(body)
        .message_attributes("stage", text("tim"))
        .message_attributes("reason", text("retries-exhausted"))
        .message_attributes("source", text(source))
        .send()
        .await
        .expect("dead letter");
}

/// Messages visible in `url` now (received, then made visible again).
async fn count(sqs: &aws_sdk_sqs::Client, url: &str) -> usize {
    let messages = receive(sqs, url, 100, Duration::from_millis(600)).await;
    for m in &messages {
        sqs.change_message_visibility()
            .queue_url(url)
            .receipt_handle(m.receipt_handle().unwrap_or_default())
            .visibility_timeout(0)
            .send()
            .await
            .expect("visible again");
    }
    messages.len()
}

fn event(account: &str) -> String {
    format!(
        r#"{{"specversion": "1.0", "id": "ev-{account}", "type": "com.example.reward.progress",
        "data": {{"accountId": "{account}", "promoCode": "WEEKLY", "attemptId": "w47"}}}}"#
    )
}

#[tokio::test]
async fn dead_letters_go_back_to_the_fifo_input_queue_sent_first_deleted_after() {
    let config = moto_config().await;
    let sqs = rewards_shared::aws::sqs_client(&config);
    let prefix = unique("redrive");
    let dlq = queue(&sqs, &format!("{prefix}-tim-dlq")).await;
    let input = queue(&sqs, &format!("{prefix}-cpp-enriched-events.fifo")).await;
    for account in ["1", "2", "3"] {
        dead_letter(&sqs, &dlq, &event(account), &format!("m-{account}")).await;
    }
    let redrive = |dry_run, max| Redrive {
        sqs: sqs.clone(),
        prefix: prefix.clone(),
        dlq_url: dlq.clone(),
        target: Target::Queues(Stage::Tim),
        dry_run,
        max,
    };

    let dry = redrive(true, None).run().await.expect("dry run");
    assert_eq!(dry.len(), 3);
    assert!(dry
        .iter()
        .all(|m| m.result == "would move" && m.to == input));
    assert_eq!((count(&sqs, &dlq).await, count(&sqs, &input).await), (3, 0));

    let first = redrive(false, Some(2)).run().await.expect("redrive");
    assert_eq!(first.iter().filter(|m| m.moved()).count(), 2, "{first:?}");
    assert_eq!(count(&sqs, &dlq).await, 1, "--max 2 leaves the third");
    let rest = redrive(false, None).run().await.expect("redrive");
    assert_eq!(rest.iter().filter(|m| m.moved()).count(), 1);
    assert_eq!(count(&sqs, &dlq).await, 0);

    let moved = receive(&sqs, &input, 3, Duration::from_secs(3)).await;
    assert_eq!(moved.len(), 3);
    for message in &moved {
        assert_eq!(
            attribute(message, "reason"),
            Some("retries-exhausted"),
            "history kept"
        );
    }
    let groups = sqs
        .receive_message()
        .queue_url(&input)
        .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
        .send()
        .await
        .expect("receive");
    assert!(
        groups.messages.unwrap_or_default().is_empty(),
        "all three were received above"
    );
    let rendered = redrive::render(&first);
    assert!(
        rendered.ends_with("2 moved, 0 left in the dead-letter queue\n"),
        "{rendered}"
    );
}

#[tokio::test]
async fn a_letter_that_cannot_move_stays_in_the_dlq() {
    let config = moto_config().await;
    let sqs = rewards_shared::aws::sqs_client(&config);
    let prefix = unique("redrive");
    let dlq = queue(&sqs, &format!("{prefix}-bcg-dlq")).await;
    dead_letter(&sqs, &dlq, &event("9"), "m-9").await;
    // No decided-events queue: nowhere to send it.
    let report = Redrive {
        sqs: sqs.clone(),
        prefix,
        dlq_url: dlq.clone(),
        target: Target::Queues(Stage::Bcg),
        dry_run: false,
        max: None,
    }
    .run()
    .await
    .expect("redrive");
    assert_eq!(report.len(), 1);
    assert!(report[0].result.starts_with("kept"), "{report:?}");
    assert_eq!(count(&sqs, &dlq).await, 1, "never lost");
}

/// DEC as the redrive invokes it, recording the events and answering as told.
struct RecordingDec {
    events: Mutex<Vec<serde_json::Value>>,
    fail: bool,
}

impl DecReplay for RecordingDec {
    fn replay<'a>(
        &'a self,
        event: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<KafkaBatchResponse, String>> {
        self.events.lock().expect("events").push(event.clone());
        let fail = self.fail;
        Box::pin(async move {
            if fail {
                Err("DEC invocation failed (status 500)".to_owned())
            } else {
                Ok(KafkaBatchResponse::default())
            }
        })
    }
}

#[tokio::test]
async fn dec_letters_are_replayed_as_their_kafka_record() {
    let config = moto_config().await;
    let sqs = rewards_shared::aws::sqs_client(&config);
    let prefix = unique("redrive");
    let dlq = queue(&sqs, &format!("{prefix}-dec-dlq")).await;
    let value = r#"{"activityId": "a-1"}"#;
    dead_letter(&sqs, &dlq, value, "dc1.skybet.cpp.activity/3@41").await;
    let run = |dec: Arc<RecordingDec>| Redrive {
        sqs: sqs.clone(),
        prefix: prefix.clone(),
        dlq_url: dlq.clone(),
        target: Target::Dec(dec),
        dry_run: false,
        max: None,
    };

    let down = Arc::new(RecordingDec {
        events: Mutex::new(Vec::new()),
        fail: true,
    });
    let report = run(Arc::clone(&down)).run().await.expect("redrive");
    assert!(report[0].result.starts_with("kept"), "{report:?}");
    assert_eq!(
        count(&sqs, &dlq).await,
        1,
        "a failed replay keeps the letter"
    );

    let dec = Arc::new(RecordingDec {
        events: Mutex::new(Vec::new()),
        fail: false,
    });
    let report = run(Arc::clone(&dec)).run().await.expect("redrive");
    assert_eq!(report[0].to, "dec dc1.skybet.cpp.activity/3@41");
    assert!(report[0].moved());
    assert_eq!(count(&sqs, &dlq).await, 0);
    let events = dec.events.lock().expect("events");
    let event: rewards_shared::lambda_event::KafkaEvent =
        serde_json::from_value(events[0].clone()).expect("an MSK event");
    let records = rewards_shared::kafka::records(&event);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].source(), "dc1.skybet.cpp.activity/3@41");
    assert_eq!(records[0].value().expect("value"), value);
}
