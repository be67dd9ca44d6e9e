"""Running per-frame work on several threads: the two ways facegraft streams frames.

- `run_in_order`, for files: every frame is processed and written, in order. Reading runs ahead
  of, and writing behind, the processing, each on its own thread.
- `NewestFrameRunner`, for live input: stages joined by one-frame mailboxes that a camera-like
  source overwrites, so when processing falls behind, frames are dropped instead of queued and
  latency stays flat.

Decoding, encoding, MediaPipe, OpenCV and numpy release the GIL while they work, so threads let two
cores overlap the stages. An error on any thread stops the others and is raised to the caller.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import Callable, Iterator, Sequence

import numpy as np

_DONE = object()


def run_in_order(items: Iterator, process: Callable, sink: Callable, threads: bool = True, depth: int = 4) -> None:
    """items -> process -> sink, in order; with `threads`, reading and writing overlap the processing."""
    if not threads:
        for item in items:
            sink(process(item))
        return
    inbox: queue.Queue = queue.Queue(depth)
    outbox: queue.Queue = queue.Queue(depth)
    errors: list[BaseException] = []
    stop = threading.Event()

    def put(q: queue.Queue, value) -> bool:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                q.put(value, timeout=0.1)
                return True
        return False

    def get(q: queue.Queue):
        while not stop.is_set():
            with contextlib.suppress(queue.Empty):
                return q.get(timeout=0.1)
        return _DONE

    def guarded(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except BaseException as exc:  # noqa: BLE001 - raised again on the caller's thread
                errors.append(exc)
                stop.set()
        return run

    def read() -> None:
        for item in items:
            if not put(inbox, item):
                return
        put(inbox, _DONE)

    def write() -> None:
        while (item := get(outbox)) is not _DONE:
            sink(item)

    workers = [threading.Thread(target=guarded(read), daemon=True), threading.Thread(target=guarded(write), daemon=True)]
    for worker in workers:
        worker.start()
    try:
        while (item := get(inbox)) is not _DONE:
            if not put(outbox, process(item)):
                break
        put(outbox, _DONE)
        workers[1].join()
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=10)
    if errors:
        raise errors[0]


class Closed(Exception):
    """The runner was closed: every waiting thread gives up."""


END = object()  # end of the source: passed down the stages so every stage finishes in order


class Mailbox:
    """Holds at most one item between two threads."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: object = None
        self._full = False
        self._closed = False

    def put(self, item: object) -> None:
        """Wait until the box is empty, then fill it."""
        with self._cond:
            self._wait_while(lambda: self._full)
            self._fill(item)

    def replace(self, item: object) -> bool:
        """Fill the box at once; True when an unread item was thrown away to make room."""
        with self._cond:
            if self._closed:
                raise Closed
            thrown = self._full
            self._fill(item)
            return thrown

    def take(self) -> object:
        with self._cond:
            self._wait_while(lambda: not self._full)
            item, self._item, self._full = self._item, None, False
            self._cond.notify_all()
            return item

    def wait_empty(self) -> None:
        with self._cond:
            self._wait_while(lambda: self._full)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _fill(self, item: object) -> None:
        self._item, self._full = item, True
        self._cond.notify_all()

    def _wait_while(self, busy: Callable[[], bool]) -> None:
        while busy() and not self._closed:
            self._cond.wait()
        if self._closed:
            raise Closed


class NewestFrameRunner:
    """A feeder and a chain of stages, each on its own thread, joined by one-frame mailboxes.

    The feeder calls `publish` (newest=True overwrites a frame not yet taken, counting it as
    dropped) and `finish` at the end of its source. Iterate `results()` for the last stage's
    outputs. Errors on any thread close every mailbox and are kept in `errors`.
    """

    def __init__(self, stages: Sequence[Callable[[object], object]]):
        self._stages = tuple(stages)
        self._boxes = [Mailbox() for _ in range(len(self._stages) + 1)]
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def start(self, feeder: Callable[[], None], feeder_done: Callable[[], None], name: str = "facegraft") -> None:
        """Start the feeder and the stages; `feeder_done` runs on the feeder's thread when it ends
        (for example to release a camera from the thread that reads it, never under a read)."""
        targets = [(feeder, (), feeder_done)] + [(self._stage, (work, self._boxes[i], self._boxes[i + 1]), None)
                                                 for i, work in enumerate(self._stages)]
        self.threads = [threading.Thread(target=self._guarded, args=t, daemon=True, name=name) for t in targets]
        for thread in self.threads:
            thread.start()

    def publish(self, item: object, newest: bool) -> bool:
        """Hand a frame to the first stage; True when an older frame was dropped for it."""
        if newest:
            return self._boxes[0].replace(item)
        self._boxes[0].put(item)
        return False

    def finish(self) -> None:
        self._boxes[0].put(END)

    def results(self) -> Iterator[object]:
        try:
            while (item := self._boxes[-1].take()) is not END:
                yield item
        except Closed:
            pass

    def close(self) -> None:
        for box in self._boxes:
            box.close()

    def join(self, timeout: float) -> None:
        current = threading.current_thread()
        for thread in self.threads:
            if thread is not current:
                thread.join(timeout)

    def stages_alive(self) -> bool:
        return any(t.is_alive() for t in self.threads[1:])

    def _guarded(self, work: Callable, args: tuple, done: Callable[[], None] | None) -> None:
        try:
            work(*args)
        except Closed:
            pass
        except BaseException as exc:  # noqa: BLE001 - raised again on the iterating thread
            self.errors.append(exc)
            self.close()
        finally:
            if done is not None:
                done()

    @staticmethod
    def _stage(work: Callable, inbox: Mailbox, outbox: Mailbox) -> None:
        while True:
            # Take the newest input only once the next stage can accept the result: a frame picked
            # earlier would only wait, and the feeder would have a newer one by then.
            outbox.wait_empty()
            item = inbox.take()
            if item is END:
                outbox.put(END)
                return
            outbox.put(work(item))


REPEAT_MEAN, REPEAT_PEAK = 0.6, 12.0  # grey levels: codec noise on a repeated frame, not motion


def is_repeat(frame: np.ndarray, before: np.ndarray) -> bool:
    """Whether `frame` repeats `before` up to codec noise (mean and near-peak difference both tiny)."""
    if frame.shape != before.shape:
        return False
    a, b = frame[::4, ::4].astype(np.int16), before[::4, ::4].astype(np.int16)
    diff = np.abs(a - b)
    return float(diff.mean()) < REPEAT_MEAN and float(np.percentile(diff, 99.9)) < REPEAT_PEAK
