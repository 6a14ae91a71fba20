//! An SQS body through every envelope decoder (TIM's, and FRED's, BCG's and MSQ's data types)
//! and their bounds: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rewards_shared::envelope::{Envelope, EventType};
use rewards_shared::model::{
    DecidedMessage, DeleteInstruction, InvalidInput, QueuedMessage, RewardMessage, Validate,
};

fn check<T: serde::de::DeserializeOwned + Validate>(body: &str) {
    match Envelope::<T>::decode(body, &EventType::ALL) {
        Ok(envelope) => {
            let _ = envelope.data.validate();
        }
        Err(error) => {
            let _ = InvalidInput::from(error).to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    let _ = tim::record::decode(&body);
    check::<RewardMessage>(&body);
    check::<DecidedMessage>(&body);
    check::<QueuedMessage>(&body);
    check::<DeleteInstruction>(&body);
});
