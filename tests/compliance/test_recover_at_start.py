"""Every web worker sweeps the document store's staging as it starts, and sweeps never race destructively.

`recover` decides a staging folder by its lock: held means a live transaction (or another process sweeping it
right now), and the folder is left alone; free means its process is gone, and the database says which files a
committed row names (published) and which not (deleted); on PostgreSQL it first waits for the dead client's
transaction to end on the server. So workers starting together, beside workers serving, may all run it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from compliance.db import make_engine
from compliance.documents import NEWBORN_GRACE_SECONDS, STAGING, DocumentStore
from compliance.models import StoredDocument
from compliance.operations.attachments import attach_evidence
from tests.compliance.test_evidence_crash import ROOT, _killed_upload, _photo, case_db  # noqa: F401

NOW = dt.datetime(2026, 11, 24, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _dead_area(root: Path, data: bytes) -> str:
    """A staging folder as a killed process leaves it: a file written, the lock file there and free."""
    token = secrets.token_hex(8)
    area = root / STAGING / token
    area.mkdir(parents=True)
    (area / ".lock").touch()
    sha = hashlib.sha256(data).hexdigest()
    (area / f"{sha}.pdf").write_bytes(data)
    return sha


def _committed(engine, shas) -> None:
    with sessionmaker(bind=engine)() as s:
        for sha in shas:
            s.add(StoredDocument(sha256=sha, size=1, path=f"{sha[:2]}/{sha[2:4]}/{sha}.pdf", created_at=NOW))
        s.commit()


# ------------------------------------------------------------------------------------ the worker's start path

def test_the_gunicorn_worker_start_path_runs_recover(case_db, tmp_path):
    """What gunicorn calls in each worker (`compliance serve`'s application): the app, then the sweep."""
    from compliance.server import _Gunicorn, gunicorn_options
    url, engine, _case, _user = case_db
    root = tmp_path / "store"
    kept, dropped = _dead_area(root, b"%PDF committed"), _dead_area(root, b"%PDF rolled back")
    _committed(engine, [kept])
    application = _Gunicorn(gunicorn_options(host="127.0.0.1", port=1, workers=1),
                            {"DATABASE_URL": url, "SECRET_KEY": "x", "DOCUMENT_STORE": str(root)})
    app = application.load()
    app.extensions["compliance.db"].engine.dispose()
    store = DocumentStore(root)
    assert store.path_for(kept).read_bytes() == b"%PDF committed"
    assert not store.path_for(dropped).exists() and list(store.staging_root.iterdir()) == []


def test_the_wsgi_module_runs_recover_too(case_db, tmp_path):
    """`gunicorn compliance.wsgi:app` imports the module in each worker (no --preload)."""
    url, engine, _case, _user = case_db
    root = tmp_path / "store"
    dropped = _dead_area(root, b"%PDF rolled back")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COMPLIANCE_DATABASE_URL": url, "COMPLIANCE_SECRET_KEY": "x",
           "COMPLIANCE_DOCUMENT_STORE": str(root), "COMPLIANCE_PUBLIC_BASE_URL": "https://jiandu.example.org"}
    done = subprocess.run([sys.executable, "-c", "import compliance.wsgi"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "0 published, 1 deleted" in done.stderr
    assert not DocumentStore(root).path_for(dropped).exists() and list((root / STAGING).iterdir()) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _workers(master: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == master and fields[0] != "Z":
                out.add(int(entry.name))
    return out


def _until(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_gunicorn_restarts_sweeps_what_a_killed_upload_left_and_spares_a_live_one(case_db, tmp_path):
    """`compliance serve` with two workers. A photo upload is killed before its commit and another after it, while
    the server runs; a third upload stays open in this test's process. A worker is killed (as gunicorn's timeout or
    the OOM killer would): the worker gunicorn starts in its place sweeps the dead uploads' folders, publishing
    the committed photo and deleting the other, and leaves the open one alone, which its commit then publishes."""
    url, engine, case_id, user_id = case_db
    root = tmp_path / "store"
    store = DocumentStore(root)
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COMPLIANCE_DATABASE_URL": url, "COMPLIANCE_SECRET_KEY": "x",
           "COMPLIANCE_DOCUMENT_STORE": str(root), "COMPLIANCE_PUBLIC_BASE_URL": "https://jiandu.example.org"}
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "compliance.cli", "serve", "--port", str(port),
                                   "--workers", "2"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
                                  start_new_session=True)
    live = None
    try:
        def healthy():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as res:
                    return res.status == 200
            except OSError:
                assert server.poll() is None, log.read_text(errors="replace")
                return False
        _until(healthy, 60, "the server")
        def two_workers(without=None):
            workers = _workers(server.pid)
            return workers if len(workers) == 2 and without not in workers else None
        first = _until(two_workers, 30, "two workers")

        lost, committed, in_flight = _photo(), _photo(), _photo()
        _killed_upload(url, root, case_id, user_id, "before_commit", lost)
        _killed_upload(url, root, case_id, user_id, "after_commit", committed)
        live = sessionmaker(bind=make_engine(url))()
        from compliance.models import User
        attach_evidence(live, case_id, data=in_flight, filename="进行中.png", actor=live.get(User, user_id),
                        now=NOW, store=store)
        live.flush()
        shas = {name: hashlib.sha256(d).hexdigest() for name, d in
                (("lost", lost), ("committed", committed), ("in_flight", in_flight))}
        assert len(list(store.staging_root.iterdir())) == 3

        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        _until(lambda: two_workers(without=victim), 60, "gunicorn to start a new worker")
        _until(lambda: len(list(store.staging_root.iterdir())) == 1, 30, "the new worker's sweep")
        assert store.path_for(shas["committed"], ".png").read_bytes() == committed
        assert not store.path_for(shas["lost"], ".png").exists()
        assert not store.path_for(shas["in_flight"], ".png").exists()
        assert [p.name for p in store.staging_root.glob("*/*.png")] == [f"{shas['in_flight']}.png"]
        assert "document store recovered after a crash: 1 published, 1 deleted" in log.read_text(errors="replace")

        live.commit()
        assert store.path_for(shas["in_flight"], ".png").read_bytes() == in_flight
        assert list(store.staging_root.iterdir()) == []
    finally:
        if live is not None:
            live.close()
            live.get_bind().dispose()
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


# ------------------------------------------------------------------------------------ sweeps side by side

#: One sweeping process: waits for the start signal (a file), then recovers once and prints what it did.
_SWEEP = """
import json, sys, time
from pathlib import Path
from compliance.db import make_engine
from compliance.documents import DocumentStore
url, root, go = sys.argv[1:]
engine = make_engine(url)
while not Path(go).exists():
    time.sleep(0.001)
print(json.dumps(DocumentStore(root).recover(engine)))
engine.dispose()
"""


def test_sweeps_started_together_share_the_work_and_leave_a_live_transaction_alone(case_db, tmp_path):
    """Four processes sweep at the same instant (workers starting together): each dead folder is handled by
    exactly one of them, every committed file is published and every other deleted, and the folder of a
    transaction still open in this process is not touched."""
    url, engine, case_id, user_id = case_db
    root = tmp_path / "store"
    store = DocumentStore(root)
    referenced = [_dead_area(root, f"%PDF committed {i}".encode()) for i in range(12)]
    unreferenced = [_dead_area(root, f"%PDF rolled back {i}".encode()) for i in range(12)]
    _committed(engine, referenced)

    live = sessionmaker(bind=make_engine(url))()
    live_sha, _rel = store.stage(live, b"%PDF in flight")
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        sweeps = [subprocess.Popen([sys.executable, "-c", _SWEEP, url, str(root), str(go)], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
        time.sleep(3)     # every process imported and waiting
        go.touch()
        results = []
        for proc in sweeps:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0 and "Traceback" not in err, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        assert sum(r["published"] for r in results) == 12 and sum(r["deleted"] for r in results) == 12, results
        for sha in referenced:
            assert store.path_for(sha).exists()
        for sha in unreferenced:
            assert not store.path_for(sha).exists()
        assert [p.name for p in store.staging_root.glob("*/*.pdf")] == [f"{live_sha}.pdf"]
        live.commit()
        assert store.path_for(live_sha).read_bytes() == b"%PDF in flight"
        assert list(store.staging_root.iterdir()) == []
    finally:
        live.close()
        live.get_bind().dispose()


def test_staging_folders_made_while_sweeps_run_are_never_taken(case_db, tmp_path):
    """Transactions open and end their staging folders over and over while another thread sweeps without pause:
    no transaction loses its folder (a folder is born locked: made under a newborn name, locked, renamed)."""
    url, engine, _case, _user = case_db
    store = DocumentStore(tmp_path / "store")
    stop, errors, sweeps = threading.Event(), [], [0]

    def sweep():
        while not stop.is_set():
            try:
                store.recover(engine)
                sweeps[0] += 1
            except Exception as exc:   # noqa: BLE001 - reported below
                errors.append(repr(exc))

    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    factory = sessionmaker(bind=engine)
    published = []
    try:
        for i in range(150):
            data = f"%PDF {i} {secrets.token_hex(4)}".encode()
            with factory() as s:
                sha, _rel = store.stage(s, data)
                if i % 2:
                    s.commit()      # no row: published all the same (recover alone decides by the rows)
                    published.append(sha)
                else:
                    s.rollback()
    finally:
        stop.set()
        sweeper.join(timeout=60)
    assert errors == [] and sweeps[0] > 0
    assert all(store.path_for(sha).exists() for sha in published)
    assert list(store.staging_root.iterdir()) == []


def test_a_newborn_folder_is_swept_only_when_old_and_unlocked(case_db, tmp_path):
    import fcntl
    _url, engine, _case, _user = case_db
    store = DocumentStore(tmp_path / "store")
    young, old, held, bare = (store.staging_root / f".new-{secrets.token_hex(8)}" for _ in range(4))
    for folder in (young, old, held, bare):
        folder.mkdir(parents=True)
    for folder in (young, old, held):
        (folder / ".lock").touch()
    then = time.time() - NEWBORN_GRACE_SECONDS - 5
    for folder in (old, held, bare):
        os.utime(folder, (then, then))
    fd = os.open(held / ".lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        store.recover(engine)
    finally:
        os.close(fd)
    assert young.exists() and held.exists()          # being made right now; a live creator's
    assert not old.exists() and not bare.exists()    # a creator killed before its rename (or before its lock)
