"""InOrder on its own: slow work at the same time, at most ``limit``, handed back in order."""

from __future__ import annotations

import threading
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.inorder import InOrder
from tests.chalicelib.strategies import PROPERTY

WAIT = 10


def test_work_is_handed_back_in_the_order_given_whatever_order_it_ends_in() -> None:
    release = threading.Event()
    pending: InOrder[int] = InOrder(4)

    def slow() -> str:
        assert release.wait(WAIT)
        return "first"

    pending.add(0, slow)
    pending.add(1, lambda: "second")
    pending.add(2)  # an entry without work waits its turn too
    assert list(pending.take(block=False)) == []  # the first is not done: nothing yet
    release.set()
    taken = [(tag, None if f is None else f.result()) for tag, f in pending.take(block=True)]
    pending.close()

    assert taken == [(0, "first"), (1, "second"), (2, None)]
    assert not pending


@PROPERTY
@given(limit=st.integers(1, 6), keys=st.lists(st.sampled_from("abc"), max_size=20))
def test_never_more_than_the_limit_nor_one_key_twice_at_once(limit: int, keys: list[str]) -> None:
    lock = threading.Lock()
    running: list[str] = []
    most = [0]
    twice = [False]

    def work(key: str) -> Any:
        def run() -> str:
            with lock:
                twice[0] = twice[0] or key in running
                running.append(key)
                most[0] = max(most[0], len(running))
            threading.Event().wait(0.001)
            with lock:
                running.remove(key)
            return key

        return run

    pending: InOrder[int] = InOrder(limit)
    for n, key in enumerate(keys):
        pending.add(n, work(key), key)
    taken = [(tag, f.result()) for tag, f in pending.take(block=True) if f is not None]
    pending.close()

    assert taken == list(enumerate(keys))
    assert most[0] <= limit
    assert twice[0] is False


def test_a_failure_is_seen_and_kept_for_its_turn() -> None:
    pending: InOrder[int] = InOrder(2)

    def boom() -> None:
        raise ValueError("no")

    pending.add(0, lambda: "ok")
    pending.add(1, boom)
    for _ in range(1000):
        if pending.failing():
            break
        threading.Event().wait(0.001)
    assert pending.failing()
    (first, ok), (second, failed) = pending.take(block=True)
    pending.close()

    assert (first, ok is not None and ok.result()) == (0, "ok")
    assert second == 1
    assert failed is not None
    assert isinstance(failed.exception(), ValueError)


def test_no_thread_pool_without_work() -> None:
    pending: InOrder[int] = InOrder(8)
    pending.add(0)
    assert [tag for tag, _ in pending.take(block=False)] == [0]
    pending.close()
    assert threading.active_count() >= 1
