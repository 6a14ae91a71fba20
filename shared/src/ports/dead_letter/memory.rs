//! In-memory dead-letter sink.

use std::sync::Mutex;

use super::{DeadLetter, DeadLetterError, DeadLetterSink};

/// Keeps the letters.
#[derive(Debug, Default)]
pub struct MemoryDeadLetters {
    letters: Mutex<Vec<DeadLetter>>,
}

impl MemoryDeadLetters {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the letters sent so far.
    pub fn take(&self) -> Vec<DeadLetter> {
        self.letters
            .lock()
            .map(|mut letters| std::mem::take(&mut *letters))
            .unwrap_or_default()
    }
}

impl DeadLetterSink for MemoryDeadLetters {
    async fn send(&self, letters: Vec<DeadLetter>) -> Result<(), DeadLetterError> {
        let mut kept = self.letters.lock().map_err(|_| DeadLetterError {
            sources: letters.iter().map(|l| l.source.clone()).collect(),
            reason: "lock poisoned".into(),
        })?;
        kept.extend(letters);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::compliance::{self, Letterbox};
    use super::*;

    impl Letterbox for MemoryDeadLetters {
        async fn arrived(&self) -> Vec<DeadLetter> {
            self.take()
        }
    }

    #[tokio::test]
    async fn meets_the_dead_letter_sink_contract() {
        let sink = MemoryDeadLetters::new();
        compliance::check_all(&sink, &sink, "").await;
    }
}
