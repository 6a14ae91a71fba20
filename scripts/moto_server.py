"""moto's server, with its SQS FIFO queues made to keep the two promises SQS documents and the
pipeline's ordering relies on. scripts/with-moto.sh starts it in place of `moto_server` (same
arguments).

1. **A group's order survives a visibility time-out.** moto forgets that a message is in flight
   only when its receive loop reaches it. When several messages of one group were in flight and
   their time-out passes, the loop reaches the first one while the later ones still count as in
   flight, skips it, and hands out the second: the group comes back reordered. SQS hands the
   group out again from its first message. The patch forgets every message whose time-out has
   passed before a receive looks at the queue.
2. **Deduplication lasts five minutes, also after a delete.** moto compares a new message's
   deduplication id only with the messages still in the queue, so a copy sent after the first
   one was received and deleted goes through. SQS drops any copy sent within five minutes of
   the first. The patch remembers each accepted deduplication id with its send time.

tests/sqs_fifo_emulation.rs shows both: each of its cases fails against plain `moto_server`.
"""

import re
import sys

from moto.sqs import models

_receive_message = models.SQSBackend.receive_message
_add_message = models.Queue.add_message


def receive_message(self, queue_name, *args, **kwargs):
    queue = self.get_queue(queue_name)
    if queue.fifo_queue:
        for message in list(queue.pending_messages):
            if message.visible:
                queue.pending_messages.discard(message)
    return _receive_message(self, queue_name, *args, **kwargs)


def add_message(self, message):
    deduplication_id = message.deduplication_id
    if self.fifo_queue and deduplication_id:
        sent = getattr(self, "_deduplication_sent", None)
        if sent is None:
            sent = {}
            self._deduplication_sent = sent
        now = message.sent_timestamp
        window = models.DEDUPLICATION_TIME_IN_SECONDS * 1000
        first = sent.get(deduplication_id)
        if first is not None and now - first < window:
            return
        sent[deduplication_id] = now
        if len(sent) > 10_000:
            for key in [k for k, at in sent.items() if now - at >= window]:
                del sent[key]
    _add_message(self, message)


models.SQSBackend.receive_message = receive_message
models.Queue.add_message = add_message

if __name__ == "__main__":
    from moto.server import main

    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0])
    sys.exit(main())
