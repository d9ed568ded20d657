"""`kill -9` of `compliance notices issue-batch` at random points, then a restart: nothing lost, nothing altered.

The batch runs as a real process of the command line against a database of its own and a store of its own; it
is killed (SIGKILL, no chance to clean up) after a seeded random delay, many times over, and then run once more
to the end. After every kill and at the end:

- no process of the batch survives (its renderer processes die with it);
- the numbers issued so far are 1…n without a gap, each issued notice with exactly one document, whose bytes
  match its hash, and the verification code printed in it is the notice's;
- after the restart, the store holds exactly the documents of issued notices: no orphan, no staging leftover.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from compliance.db import make_engine
from compliance.documents import STAGING, DocumentStore
from compliance.models import Jurisdiction, Notice, Role, StoredDocument
from compliance.operations.users import create_user
from compliance.testing import approved_letters

NOW = dt.datetime(2026, 11, 24, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
RUNS = 20
#: Approved notices per lane; each lane is one notice type, so one counter.
NOTICES = 36
LANES = ("visit", "opinion")
SEED = 20261124
#: Even runs are killed anywhere from the command's start (reading, spawning its renderers) …
KILL_AFTER_START = (0.2, 2.2)
#: … odd runs once their first chunk has written its files (rendering, staging, committing, publishing).
KILL_AFTER_FIRST_FILE = (0.0, 0.3)
#: A bound, not a target: a run is mostly process start-up (~2.4 s, imports), which grows with the machine's
#: load; two runs at a time halve the rounds.
BUDGET_SECONDS = 150


def _session_processes(sid: int) -> list[str]:
    """Processes still alive in the batch's session (it was started as a session leader): "pid cmdline"."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            state, session = fields[0], int(fields[3])
            if session == sid and state != "Z":
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                alive.append(f"{entry.name} {cmdline[:120]}")
        except (OSError, ValueError):
            continue
    return alive


def _wait_gone(sid: int, seconds: float = 5.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while True:
        alive = _session_processes(sid)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def _staged_files(root: Path) -> set[Path]:
    """The PDFs in staging folders now. A folder is made as .new-<token> and renamed, and a sweep removes folders:
    one may vanish between listing and reading it (skipped, it is seen at the next look)."""
    found: set[Path] = set()
    try:
        folders = list((root / STAGING).iterdir())
    except FileNotFoundError:
        return found
    for folder in folders:
        try:
            found.update(p for p in folder.iterdir() if p.suffix == ".pdf")
        except (FileNotFoundError, NotADirectoryError):
            continue
    return found


def _store_files(root: Path) -> dict[str, Path]:
    """Published documents: sha → path (the content-addressed tree, outside staging)."""
    return {p.stem: p for p in root.glob("??/??/*.pdf")}


def _check(engine, root: Path, *, restarted: bool) -> int:
    """The invariants; returns how many notices are issued."""
    with sessionmaker(bind=engine)() as s:
        issued = s.scalars(select(Notice).where(Notice.status == "issued")
                           .order_by(Notice.notice_type, Notice.seq)).all()
        stored = set(s.scalars(select(StoredDocument.sha256)))
    for kind in {n.notice_type for n in issued}:   # one counter per (issuer, type, year); one issuer here
        seqs = [n.seq for n in issued if n.notice_type == kind]
        assert seqs == list(range(1, len(seqs) + 1)), f"{kind}: numbers with a gap or twice: {seqs}"
    assert len({n.sha256 for n in issued}) == len(issued)
    store = DocumentStore(root)
    for n in issued:
        data = store.get(n.sha256)   # the bytes match the hash (get checks), published or still staged
        assert hashlib.sha256(data).hexdigest() == n.sha256
    if restarted:
        files = _store_files(root)
        assert set(files) == {n.sha256 for n in issued} == stored, "orphan or missing file after the restart"
        leftovers = list((root / STAGING).glob("*")) if (root / STAGING).exists() else []
        assert leftovers == [], f"staging not swept: {leftovers}"
        # The code printed is the notice's own (the 261 and 262 printed other codes than archived).
        for n in issued[-2:] + issued[:2]:
            assert n.verification_code in _pdf_text(files[n.sha256].read_bytes())
    return len(issued)


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).replace(" ", "")


def test_kill_9_at_random_points_leaves_gapless_numbers_and_no_orphan(isolated_database_url, tmp_path):
    """Two batches at a time (visit letters and opinions: two counters, one store), each killed on its own plan:
    a sweep at one's start meets the other's live transaction, which it must leave alone."""
    started = time.monotonic()
    engine = make_engine(isolated_database_url)
    with sessionmaker(bind=engine)() as s:
        chaoyang = s.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
        drafter = create_user(s, login="drafter", name="刘洋", password="crash-password", jurisdiction=chaoyang,
                              roles={Role.SUPERVISOR})
        chair = create_user(s, login="chair", name="张国栋", password="crash-password", jurisdiction=chaoyang,
                            roles={Role.APPROVER})
        for lane in LANES:
            approved_letters(s, jurisdiction=chaoyang, drafter=drafter, approver=chair, count=NOTICES, now=NOW,
                             up_to={"visit": "record_visit", "opinion": "issue_opinion"}[lane],
                             name=f"北京崩溃测试{lane}{{}}有限公司")
        s.commit()
    root = tmp_path / "store"
    env = {**os.environ, "COMPLIANCE_DATABASE_URL": isolated_database_url, "COMPLIANCE_SECRET_KEY": "x",
           "COMPLIANCE_DOCUMENT_STORE": str(root), "COMPLIANCE_PUBLIC_BASE_URL": "https://jiandu.example.org"}
    command = [sys.executable, "-m", "compliance.cli", "notices", "issue-batch", "--by", "drafter", "--chunk", "3"]
    rng = random.Random(SEED)
    kills = []
    for round_ in range(RUNS // len(LANES)):
        before = _staged_files(root)
        plans, procs = {}, {}
        for i, lane in enumerate(LANES):
            mid_batch = (round_ + i) % 2 == 1
            plans[lane] = (mid_batch, rng.uniform(*(KILL_AFTER_FIRST_FILE if mid_batch else KILL_AFTER_START)))
            # Two renderer processes in some runs (all must die with the batch), one in the others (cheaper).
            workers = "2" if round_ % 3 == 0 else "1"
            procs[lane] = subprocess.Popen([*command, "--type", lane, "--workers", workers], env=env, cwd=tmp_path,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                           start_new_session=True)
        t0, first_file, outcome = time.monotonic(), None, {}
        while len(outcome) < len(LANES) and time.monotonic() - t0 < 60:
            now = time.monotonic()
            if first_file is None and _staged_files(root) - before:
                first_file = now
            for lane, proc in procs.items():
                if lane in outcome:
                    continue
                if proc.poll() is not None:
                    outcome[lane] = "finished"
                    continue
                mid_batch, delay = plans[lane]
                due = (first_file + delay if first_file is not None else None) if mid_batch else t0 + delay
                if due is not None and now >= due:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=10)
                    outcome[lane] = "killed"
            time.sleep(0.005)
        for lane, proc in procs.items():
            if proc.poll() is None:   # the bound above ran out: kill it all the same
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
            survivors = _wait_gone(proc.pid)
            assert survivors == [], f"round {round_} {lane}: processes outlived the killed batch: {survivors}"
            assert outcome.get(lane) != "finished" or proc.returncode == 0, f"{lane} failed by itself"
        kills.append((outcome, _check(engine, root, restarted=False)))
        assert time.monotonic() - started < BUDGET_SECONDS, f"over budget after {round_ + 1} rounds: {kills}"
    # The restart: the same command, to the end.
    done = subprocess.run([*command, "--workers", "2"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    total = _check(engine, root, restarted=True)
    engine.dispose()
    assert total == NOTICES * len(LANES)
    # The kills really landed mid-batch: many rounds issued part of it, and the restart still had work to do.
    progress = [n for _outcome, n in kills]
    advanced = sum(b > a for a, b in zip([0, *progress], progress))
    assert advanced >= 4 and progress[-1] < NOTICES * len(LANES), kills
    assert sum(o == "killed" for outcome, _n in kills for o in outcome.values()) >= RUNS - 2, kills


def test_a_killed_transaction_s_files_are_swept_and_a_committed_one_s_published(isolated_database_url, tmp_path):
    """The sweep decides by the database: a staged file a committed row names is published, any other deleted."""
    engine = make_engine(isolated_database_url)
    root = tmp_path / "store"
    # Two staging folders as a killed process leaves them: files written, lock file present but not held.
    committed, dropped = b"%PDF committed", b"%PDF rolled back"
    sha_kept, sha_dropped = hashlib.sha256(committed).hexdigest(), hashlib.sha256(dropped).hexdigest()
    for token, data in (("0123456789abcdef", committed), ("fedcba9876543210", dropped)):
        area = root / STAGING / token
        area.mkdir(parents=True)
        (area / ".lock").touch()
        (area / f"{hashlib.sha256(data).hexdigest()}.pdf").write_bytes(data)
    with sessionmaker(bind=engine)() as s:
        s.add(StoredDocument(sha256=sha_kept, size=len(committed), path="x", created_at=NOW))
        s.commit()
    store = DocumentStore(root)
    assert store.get(sha_kept) == committed   # readable even before the sweep
    assert store.recover(engine) == {"published": 1, "deleted": 1}
    engine.dispose()
    assert store.path_for(sha_kept).read_bytes() == committed
    assert not store.path_for(sha_dropped).exists()
    assert list((root / STAGING).iterdir()) == []


def test_a_live_transaction_s_staging_is_left_alone(isolated_database_url, tmp_path):
    """A sweep from another process (here: another lock holder) never touches an open transaction's files."""
    engine = make_engine(isolated_database_url)
    store = DocumentStore(tmp_path / "store")
    with sessionmaker(bind=engine)() as open_txn:
        sha, _rel = store.stage(open_txn, b"%PDF in flight")
        assert store.recover(engine) == {"published": 0, "deleted": 0}
        assert store.get(sha) == b"%PDF in flight"   # its own transaction reads it
        assert not store.path_for(sha).exists()      # not published before the commit
        open_txn.rollback()
    assert not store.path_for(sha).exists() and list(store.staging_root.iterdir()) == []
    engine.dispose()
