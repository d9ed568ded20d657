"""Batch issue: render in several processes, commit per chunk (each chunk one gapless transaction).

The renderer processes die with the process that started them, even when it is killed outright (kill -9):
each asks the kernel for SIGKILL when its parent goes (prctl PR_SET_PDEATHSIG) and, as a second line, watches
its parent's pid from a thread. A killed batch's files are swept by `DocumentStore.recover` at the next start.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from compliance.errors import DomainError

#: Notices per transaction: the counter rows stay locked while a chunk renders, so keep it short.
CHUNK = 50
#: How often a renderer checks that its parent is still there (the fallback to PR_SET_PDEATHSIG).
WATCH_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1


class BatchStopped(DomainError):
    """A chunk was refused or failed: the chunks before it are issued, it and the rest are not."""

    status = 409
    code = "batch_stopped"


def _die_with_parent(parent: int) -> None:
    """Renderer initializer: end this process as soon as `parent` is gone."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):   # not Linux: the watchdog alone
        pass
    if os.getppid() != parent:   # the parent died before the request above took effect
        os._exit(1)

    def watch():
        while True:
            if os.getppid() != parent:
                os._exit(1)
            threading.Event().wait(WATCH_SECONDS)
    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
    import letters  # noqa: F401  (loaded while the parent still prepares the first chunk)


def _ready() -> bool:
    return True


def _render_one(job) -> bytes:
    import letters
    key, facts, number, verification = job
    return letters.render(key, facts, number=number, verification=verification)


class ProcessRenderer:
    """A pool of renderer processes (spawned: no inherited database connections or locks), reused across
    chunks; they end with this process however it ends."""

    def __init__(self, workers: int | None = None, on_rendered: Callable[[int], None] | None = None):
        self.workers = workers or max(1, (os.cpu_count() or 1))
        self.on_rendered = on_rendered or (lambda n: None)
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_die_with_parent, initargs=(os.getpid(),))
        # Start the processes now, so they load while the first chunk's numbers are taken.
        for _ in range(self.workers):
            self._pool.submit(_ready)

    def __call__(self, jobs: Sequence) -> list[bytes]:
        out = []
        try:
            for pdf in self._pool.map(_render_one, jobs):
                out.append(pdf)
                self.on_rendered(1)
        except BrokenProcessPool:
            raise DomainError("文书生成进程意外退出（可能内存不足），本组文书未签发，文号未占用。请稍后重试") from None
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def issue_in_batches(session_factory, notice_ids: Sequence[int], *, actor_id: int, now, store,
                     workers: int | None = None, on_rendered: Callable[[int], None] | None = None,
                     chunk: int = CHUNK, public_base: str | None = None) -> list[str]:
    """Issue many approved notices chunk by chunk; returns the numbers.

    A failing chunk rolls back alone (its numbers and files with it) and stops the batch: BatchStopped says how
    many were issued before it and why it stopped.
    """
    from compliance.models import User
    from compliance.operations.notices import issue_notices
    numbers: list[str] = []
    with ProcessRenderer(workers, on_rendered) as render:
        with session_factory() as session:
            store.recover(session.get_bind())   # what a killed batch left behind
        for start in range(0, len(notice_ids), chunk):
            with session_factory() as session:
                try:
                    actor = session.get(User, actor_id)
                    issued = issue_notices(session, notice_ids[start:start + chunk], actor=actor, now=now,
                                           store=store, render=render, public_base=public_base)
                    session.commit()
                except DomainError as exc:
                    session.rollback()
                    if not numbers:
                        raise
                    raise BatchStopped(f"已签发 {len(numbers)} 份（{numbers[0]} … {numbers[-1]}）后停止，"
                                       f"其余 {len(notice_ids) - start} 份未签发：{exc.message}",
                                       issued=len(numbers)) from exc
                numbers += [n.number for n in issued]
    return numbers
