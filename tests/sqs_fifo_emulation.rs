//! The local SQS behaves as SQS documents FIFO queues, in the two ways the chaos run over moto
//! (`rewards chaos --aws`) and the pipeline's ordering argument rely on: a group comes back
//! from its first message after a visibility time-out, and a copy sent within five minutes of
//! the first is dropped even when the first was already deleted. Plain `moto_server` fails
//! both; scripts/moto_server.py, which scripts/with-moto.sh starts, passes them. Run through
//! `scripts/with-moto.sh cargo test -p rewards-tests`.

use std::time::Duration;

use aws_sdk_sqs::types::Message;
use rewards_tests::{create_fifo_queue, moto_config, unique};

async fn send(sqs: &aws_sdk_sqs::Client, queue_url: &str, body: &str, deduplication_id: &str) {
    sqs.send_message()
        .queue_url(queue_url)
        .message_body(body)
        .message_group_id("customer-1")
        .message_deduplication_id(deduplication_id)
        .send()
        .await
        .expect("send message");
}

/// One `ReceiveMessage` of up to ten messages, hidden for `visibility_seconds`.
async fn receive_once(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    visibility_seconds: i32,
) -> Vec<Message> {
    sqs.receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .visibility_timeout(visibility_seconds)
        .wait_time_seconds(0)
        .send()
        .await
        .expect("receive messages")
        .messages
        .unwrap_or_default()
}

fn bodies(messages: &[Message]) -> Vec<&str> {
    messages.iter().filter_map(Message::body).collect()
}

#[tokio::test]
async fn a_group_comes_back_from_its_first_message_after_a_visibility_time_out() {
    let sqs = rewards_shared::aws::sqs_client(&moto_config().await);
    let queue = create_fifo_queue(&sqs, &unique("fifo-order")).await;
    for body in ["first", "second", "third"] {
        send(&sqs, &queue.url, body, body).await;
    }
    let in_flight = receive_once(&sqs, &queue.url, 1).await;
    assert_eq!(bodies(&in_flight), ["first", "second", "third"]);
    assert!(
        receive_once(&sqs, &queue.url, 1).await.is_empty(),
        "a group with messages in flight hands out nothing"
    );

    // Nobody deletes them: a failed batch. Once the time-out passes, the group starts over.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let again = receive_once(&sqs, &queue.url, 30).await;
    assert_eq!(bodies(&again), ["first", "second", "third"]);
}

#[tokio::test]
async fn a_copy_sent_within_five_minutes_is_dropped_also_after_the_first_was_deleted() {
    let sqs = rewards_shared::aws::sqs_client(&moto_config().await);
    let queue = create_fifo_queue(&sqs, &unique("fifo-dedup")).await;
    send(&sqs, &queue.url, "award", "event-1").await;
    let received = receive_once(&sqs, &queue.url, 30).await;
    assert_eq!(bodies(&received), ["award"]);
    let handle = received[0].receipt_handle().expect("receipt handle");
    sqs.delete_message()
        .queue_url(&queue.url)
        .receipt_handle(handle)
        .send()
        .await
        .expect("delete message");

    send(&sqs, &queue.url, "award", "event-1").await;
    send(&sqs, &queue.url, "spent", "event-2").await;
    let after = receive_once(&sqs, &queue.url, 30).await;
    assert_eq!(bodies(&after), ["spent"], "the copy of event-1 is dropped");
}
