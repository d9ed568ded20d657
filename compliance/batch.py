"""Batch issue: render in several processes, commit per chunk (each chunk one gapless transaction)."""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

#: Notices per transaction: the counter rows stay locked while a chunk renders, so keep it short.
CHUNK = 50


def _render_one(job) -> bytes:
    import letters
    key, facts, number, verification = job
    return letters.render(key, facts, number=number, verification=verification)


class ProcessRenderer:
    """A pool of renderer processes (spawned: no inherited database connections), reused across chunks."""

    def __init__(self, workers: int | None = None, on_rendered: Callable[[int], None] | None = None):
        self.workers = workers or max(1, (os.cpu_count() or 1))
        self.on_rendered = on_rendered or (lambda n: None)
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))

    def __call__(self, jobs: Sequence) -> list[bytes]:
        out = []
        for pdf in self._pool.map(_render_one, jobs):
            out.append(pdf)
            self.on_rendered(1)
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def issue_in_batches(session_factory, notice_ids: Sequence[int], *, actor_id: int, now, store,
                     workers: int | None = None, on_rendered: Callable[[int], None] | None = None,
                     chunk: int = CHUNK) -> list[str]:
    """Issue many approved notices chunk by chunk; returns the numbers. A failing chunk rolls back alone."""
    from compliance.models import User
    from compliance.operations.notices import issue_notices
    numbers: list[str] = []
    with ProcessRenderer(workers, on_rendered) as render:
        for start in range(0, len(notice_ids), chunk):
            with session_factory() as session:
                actor = session.get(User, actor_id)
                issued = issue_notices(session, notice_ids[start:start + chunk], actor=actor, now=now, store=store,
                                       render=render)
                session.commit()
                numbers += [n.number for n in issued]
    return numbers
