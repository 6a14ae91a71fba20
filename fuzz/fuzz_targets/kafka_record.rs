//! An MSK record (value and `correlationid` header) through DEC's decode and MSQ's
//! customer-online parse: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rewards_shared::kafka::{encode_event, encode_record, records};
use rewards_shared::model::{CustomerOnline, Validate};

fuzz_target!(|data: &[u8]| {
    let (selector, rest) = data.split_first().unwrap_or((&0, &[]));
    let split = usize::from(selector >> 2).min(rest.len());
    let (header, value) = rest.split_at(split);
    let topic = ["cpp", "eppm", "online", "other"][usize::from(selector & 3)];
    let header = String::from_utf8_lossy(header);
    let event = encode_event(vec![encode_record(
        topic,
        0,
        1,
        value,
        &[("correlationid", &header)],
    )]);
    let records = records(&event);
    let Some(record) = records.first() else {
        return;
    };
    let topics = dec::decode::Topics {
        cpp: "cpp".into(),
        eppm: "eppm".into(),
    };
    let _ = dec::decode::decode(record, &topics);
    let _ = record.header("correlationid");
    if let Ok(text) = record.value() {
        if let Ok(online) = serde_json::from_str::<CustomerOnline>(&text) {
            let _ = online.validate();
        }
    }
});
