"""The group committer: work in batches, and work behind an answer riding along."""

from __future__ import annotations

import threading
from typing import Any

from aura_server.store.group_commit import BEHIND_SECONDS, GroupCommitter


class Batches:
    """A stand-in transaction that records which work committed together."""

    def __init__(self) -> None:
        self.committed: list[list[str]] = []
        self._open: list[str] = []
        self.gate = threading.Event()  # begin waits for it (holds the writer)
        self.gate.set()

    def begin(self, timeout: float) -> None:
        self.gate.wait(timeout=10)
        self._open = []

    def savepoint(self, sql: str) -> None:
        pass

    def finish(self, handle: Any, commit: bool) -> None:
        if commit:
            self.committed.append(self._open)

    def work(self, name: str) -> Any:
        return lambda: self._open.append(name)

    def committer(self, behind_seconds: float = BEHIND_SECONDS) -> GroupCommitter:
        return GroupCommitter(self.begin, self.savepoint, self.finish, 5.0, behind_seconds)


def test_work_behind_an_answer_commits_on_its_own_soon() -> None:
    batches = Batches()
    committer = batches.committer()
    done = committer.submit(batches.work("impression"), behind=True)
    done.result(timeout=1.0)
    assert batches.committed == [["impression"]]
    committer.close()


def test_work_behind_an_answer_rides_with_the_next_waited_for_batch() -> None:
    batches = Batches()
    committer = batches.committer(behind_seconds=60.0)  # never due on its own here
    behind = committer.submit(batches.work("impression"), behind=True)
    committer.run(batches.work("behavior"))
    behind.result(timeout=1.0)
    assert batches.committed == [["impression", "behavior"]]
    committer.close()


def test_close_commits_what_is_still_behind() -> None:
    batches = Batches()
    committer = batches.committer()
    batches.gate.clear()  # the writer is held in its first batch
    first = committer.submit(batches.work("first"))
    behind = committer.submit(batches.work("impression"), behind=True)
    closing = threading.Thread(target=committer.close)
    closing.start()
    batches.gate.set()
    closing.join(timeout=10)
    assert first.result(timeout=1.0) is None
    assert behind.result(timeout=1.0) is None
    assert [name for batch in batches.committed for name in batch] == ["first", "impression"]
