"""Slow work at the same time, handed back in the order it was given.

:class:`InOrder` runs each piece of work given to :meth:`~InOrder.add` on one of at most
``limit`` worker threads, and :meth:`~InOrder.take` hands the pieces back oldest first, each
once it is done (or waits for them, blocking). Work with the same ``key`` never runs at the
same time: the later waits for the earlier. An entry given without work is handed back in its
turn like the others. Nothing here knows what the work is, or what a failure means: a piece's
future holds its value or its exception, for the caller to read.

The thread pool is made on the first piece of work: a batch without slow work never imports
``concurrent.futures``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["InOrder"]

T = TypeVar("T")


class InOrder(Generic[T]):
    """Pieces of work in flight, at most ``limit`` at once, handed back in the order given."""

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._pool: ThreadPoolExecutor | None = None
        self._queue: deque[tuple[T, Future[Any] | None]] = deque()  # given, not taken
        self._running: set[Future[Any]] = set()  # started, not seen done
        self._by_key: dict[str, Future[Any]] = {}
        self._failed = False  # a piece raised: the caller should start nothing more

    def __bool__(self) -> bool:
        """Whether anything given has not been taken back."""
        return bool(self._queue)

    def add(self, tag: T, work: Callable[[], Any] | None = None, key: str | None = None) -> None:
        """Queue ``tag``; start ``work`` for it on a worker thread (waiting for a free one)."""
        if work is None:
            self._queue.append((tag, None))
            return
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self._limit, thread_name_prefix="slow")
        earlier = self._by_key.get(key) if key is not None else None
        if earlier is not None:
            _wait([earlier])  # the same key: not at the same time, the earlier first
        while len(self._running) >= self._limit:
            self._seen(_wait(self._running, first=True))
        future = self._pool.submit(work)
        self._running.add(future)
        if key is not None:
            self._by_key[key] = future
        self._queue.append((tag, future))

    def oldest(self) -> T | None:
        """The oldest entry not taken back, or ``None``."""
        return self._queue[0][0] if self._queue else None

    def failing(self) -> bool:
        """Whether a piece of work already raised (then it is time to stop adding)."""
        self._seen({f for f in self._running if f.done()})
        return self._failed

    def take(self, *, block: bool) -> Iterator[tuple[T, Future[Any] | None]]:
        """The oldest entries, in the order given, as far as their work is done; with
        ``block``, every entry, waiting for each. An entry is handed back once."""
        queue = self._queue
        while queue:
            tag, future = queue[0]
            if future is not None and not (block or future.done()):
                return
            queue.popleft()
            if future is not None:
                if not future.done():
                    _wait([future])
                self._running.discard(future)
            yield tag, future

    def close(self) -> None:
        """Forget what was not taken, and wait for every piece still running: nothing may run
        once the batch has returned."""
        self._queue.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _seen(self, done: set[Future[Any]]) -> None:
        self._running -= done
        self._failed = self._failed or any(f.exception() is not None for f in done)


def _wait(futures: Iterable[Future[Any]], *, first: bool = False) -> set[Future[Any]]:
    from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, wait

    done, _ = wait(futures, return_when=FIRST_COMPLETED if first else ALL_COMPLETED)
    return done
