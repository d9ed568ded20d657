"""The service through a PostgreSQL restart: gunicorn on a private cluster, clients driving case transitions over
HTTP, the cluster stopped and started again in the middle.

Used by bench/bench_durability.py (figures) and tests/compliance/test_db_outage.py (assertions). The cluster is
the test's own (initdb in a temporary folder, a free loopback port, run as the `postgres` OS user when we are
root), never the shared one on 5432; it is stopped and removed at the end whatever happens.

Each client logs in as its own supervisor and takes each of its cases through two steps, 记录走访宣讲 then
撤销案件, by posting the case page's forms (with their CSRF token and the case's version), as a browser does.
A request that fails (503 while the database is down, a dropped connection) is sent again as it was, same
version: if the first one did commit, the version check refuses the second (409), so nothing is done twice.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import glob
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

PASSWORD = "durability-bench-2026"
PUBLIC_BASE_URL = "https://jiandu.example.org"
BEIJING = dt.timezone(dt.timedelta(hours=8))
VISIT_DAY = "2026-11-20"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin folder (Debian layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


def private_cluster_unavailable() -> str | None:
    """Why a private cluster cannot be started here (None when it can)."""
    if postgres_bin() is None:
        return "no PostgreSQL server binaries under /usr/lib/postgresql"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser (initdb refuses root)"
    if os.geteuid() == 0:
        try:
            import pwd
            pwd.getpwnam("postgres")
        except KeyError:
            return "no postgres OS user to run the cluster as"
    return None


class PrivateCluster:
    """A throwaway PostgreSQL cluster on a free loopback port (trust auth, user postgres)."""

    def __init__(self):
        self.bin = postgres_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="compliance-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = free_port()
        if os.geteuid() == 0:
            import pwd
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self.dir.chmod(0o700)

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout, cwd=self.dir)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c max_connections=60"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            if (self.data / "postmaster.pid").exists():
                self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            self.init()
            self.start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc):
        self.remove()


def create_database(server_url: str, name: str) -> str:
    from sqlalchemy import create_engine, make_url, text
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def populate(url: str, clients: int, cases_each: int) -> dict[str, list[int]]:
    """A supervisor per client (login → case ids) with its registered cases, in 朝阳区."""
    from sqlalchemy import select
    from sqlalchemy.orm import sessionmaker

    from compliance.db import make_engine
    from compliance.models import Jurisdiction, Role
    from compliance.operations.cases import open_case
    from compliance.operations.users import create_user
    from compliance.testing import new_enterprise, prepare_database
    prepare_database(url)
    engine = make_engine(url)
    now = dt.datetime(2026, 11, 24, 9, tzinfo=BEIJING)
    plan = {}
    with sessionmaker(bind=engine)() as s:
        chaoyang = s.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
        for c in range(clients):
            user = create_user(s, login=f"load{c}", name=f"压测{c}", password=PASSWORD, jurisdiction=chaoyang,
                               roles={Role.SUPERVISOR})
            ids = []
            for i in range(cases_each):
                enterprise = new_enterprise(s, chaoyang, f"北京耐久测试{c}号{i}有限公司")
                ids.append(open_case(s, enterprise=enterprise, violations=["no_union"], opened_by=user,
                                     supervisors=[user], now=now).id)
            plan[user.login] = ids
        s.commit()
    engine.dispose()
    return plan


class Server:
    """`compliance serve` (gunicorn) as a process, on a free loopback port."""

    def __init__(self, url: str, workdir: Path, workers: int = 2):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "COMPLIANCE_DATABASE_URL": url, "COMPLIANCE_SECRET_KEY": "durability",
               "COMPLIANCE_PUBLIC_BASE_URL": PUBLIC_BASE_URL, "COMPLIANCE_SESSION_COOKIE_SECURE": "false",
               "COMPLIANCE_DOCUMENT_STORE": str(workdir / "documents"), "HOME": str(workdir)}
        env.pop("XDG_RUNTIME_DIR", None)
        self.log = open(workdir / "gunicorn.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "compliance.cli", "serve", "--port", str(self.port),
                                      "--workers", str(workers)], env=env, cwd=workdir, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as res:
                    if res.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError("serve did not answer in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


class Browser:
    """Cookies, the CSRF token, forms posted as a browser posts them (redirects followed)."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = None

    def request(self, path: str, data: dict | None = None, timeout: float = 10) -> tuple[int, str, dict]:
        body = None
        if data is not None:
            body = urllib.parse.urlencode({**data, "csrf_token": self.csrf or ""}, doseq=True).encode()
        try:
            with self.opener.open(urllib.request.Request(self.base + path, data=body), timeout=timeout) as res:
                return res.status, res.read().decode(errors="replace"), dict(res.headers)
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace"), dict(err.headers)

    def login(self, login: str, password: str) -> None:
        status, page, _ = self.request("/login")
        self.csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        status, page, _ = self.request("/login", {"login": login, "password": password})
        if status != 200 or 'name="password"' in page:
            raise RuntimeError(f"login {login}: {status}")
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if found:
            self.csrf = found.group(1)


@dataclass
class Tally:
    """What one client saw."""

    done: dict[tuple[int, str], float] = field(default_factory=dict)   #: (case, trigger) → when it succeeded
    refused_as_done: list[tuple[int, str]] = field(default_factory=list)   #: a resent request found it done
    errors: list[tuple[float, int | str]] = field(default_factory=list)   #: (when, status or exception name)
    fatal: str | None = None   #: what stopped this client early (an answer no retry can change)
    requests: int = 0
    ready: threading.Event = field(default_factory=threading.Event)   #: logged in


STEPS = (("record_visit", lambda: {"visited_on": VISIT_DAY, "findings": "职工86人，未建立工会",
                                   "supervisors": "王芳、李强"}),
         ("withdraw", lambda: {"reason": "企业已注销"}))


def _version(page: str, trigger: str) -> str | None:
    found = re.search(rf'name="{trigger}-step_version"[^>]*value="(\d+)"', page)
    return found.group(1) if found else None


def drive(base: str, login: str, case_ids: list[int], go: threading.Event, stop: threading.Event,
          tally: Tally) -> None:
    """Log in, wait for `go`, take each case through the steps until all are done or `stop` is set; resend
    what failed."""
    try:
        browser = Browser(base)
        browser.login(login, PASSWORD)
        tally.ready.set()
        go.wait(60)
        _drive(browser, case_ids, stop, tally)
    except Exception as exc:
        tally.fatal = f"{exc.__class__.__name__}: {exc}"
        tally.ready.set()


def _drive(browser: Browser, case_ids: list[int], stop: threading.Event, tally: Tally) -> None:
    for case_id in case_ids:
        page = None
        for trigger, inputs in STEPS:
            while not stop.is_set():
                try:
                    if page is None or _version(page, trigger) is None:
                        tally.requests += 1
                        status, page, _ = browser.request(f"/cases/{case_id}")
                        if status != 200:
                            tally.errors.append((time.monotonic(), status))
                            page = None
                            time.sleep(0.1)
                            continue
                    version = _version(page, trigger)
                    if version is None:
                        raise AssertionError(f"case {case_id}: no {trigger} form on its page")
                    form = {f"{trigger}-{k}": v for k, v in inputs().items()}
                    form[f"{trigger}-step_version"] = version
                    while True:   # the same request again until it is answered by the service
                        tally.requests += 1
                        status, answer, _ = browser.request(f"/cases/{case_id}/steps/{trigger}", form)
                        if status == 200:
                            tally.done[(case_id, trigger)] = time.monotonic()
                            page = answer
                            break
                        if status == 409:   # the first sending had committed: the step is not taken twice
                            tally.refused_as_done.append((case_id, trigger))
                            page = None
                            break
                        tally.errors.append((time.monotonic(), status))
                        if status != 503:
                            raise RuntimeError(f"case {case_id} {trigger}: HTTP {status}: {answer[:300]}")
                        time.sleep(0.1)
                    break
                except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as exc:
                    tally.errors.append((time.monotonic(), exc.__class__.__name__))
                    page = None
                    time.sleep(0.1)
            if stop.is_set():
                return


@dataclass
class OutageResult:
    transitions_ok: int          #: requests answered with success
    transitions_in_db: int       #: step events in the database
    lost: int                    #: answered with success but not in the database
    doubled: int                 #: a step recorded twice for a case
    refused_as_done: int         #: resent after an error, refused because the first had committed
    errors: int                  #: error answers (503) and failed connections
    errors_outside_outage: int   #: … before the stop began or later than `grace` after the start
    non_503: list                #: error answers other than 503 (none expected)
    fatal: list                  #: clients stopped by an answer no retry changes (none expected)
    down_seconds: float          #: from pg_ctl stop to pg_ctl start returning
    recovery_seconds: float      #: from the start returning to the first success after it
    per_second_before: float     #: successes a second from the start to the stop
    per_second_after: float      #: … from the database's start to the end (recovery included)
    requests: int
    wall_seconds: float


def run_outage(*, clients: int = 4, cases_each: int = 30, before: float = 4.0, down: float = 3.0,
               after: float = 5.0, grace: float = 5.0, workdir: Path | None = None) -> OutageResult:
    """Load, restart PostgreSQL in the middle, keep loading; count what the database holds."""
    started = time.monotonic()
    own_workdir = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="compliance-durability-"))
    try:
        return _run_outage(workdir, started, clients=clients, cases_each=cases_each, before=before, down=down,
                           after=after, grace=grace)
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _run_outage(workdir: Path, started: float, *, clients: int, cases_each: int, before: float, down: float,
                after: float, grace: float) -> OutageResult:
    from sqlalchemy import func, select
    from sqlalchemy.orm import sessionmaker

    from compliance.db import make_engine
    from compliance.models import CaseEvent
    with PrivateCluster() as cluster:
        url = create_database(cluster.url, "compliance")
        plan = populate(url, clients, cases_each)
        server = Server(url, workdir)
        try:
            server.wait_ready()
            go, stop = threading.Event(), threading.Event()
            tallies = {login: Tally() for login in plan}
            threads = [threading.Thread(target=drive, args=(server.base, login, ids, go, stop, tallies[login]),
                                        daemon=True) for login, ids in plan.items()]
            for t in threads:
                t.start()
            for tally in tallies.values():   # logged in (the workers have loaded the app) before the clock
                tally.ready.wait(60)
            t0 = time.monotonic()
            go.set()
            time.sleep(before)
            down_at = time.monotonic()
            cluster.stop("fast")
            time.sleep(down)
            cluster.start()
            up_at = time.monotonic()
            time.sleep(after)
            stop.set()
            for t in threads:
                t.join(timeout=30)
            end = time.monotonic()
        finally:
            server.stop()
        engine = make_engine(url)
        with sessionmaker(bind=engine)() as s:
            rows = s.execute(select(CaseEvent.case_id, CaseEvent.trigger, func.count())
                             .where(CaseEvent.trigger.in_([name for name, _ in STEPS]))
                             .group_by(CaseEvent.case_id, CaseEvent.trigger)).all()
        engine.dispose()
    in_db = {(case_id, trigger): n for case_id, trigger, n in rows}
    done = {key: when for tally in tallies.values() for key, when in tally.done.items()}
    errors = [e for tally in tallies.values() for e in tally.errors]
    after_up = [when for when in done.values() if when >= up_at]
    return OutageResult(
        transitions_ok=len(done), transitions_in_db=sum(in_db.values()),
        lost=sum(1 for key in done if key not in in_db), doubled=sum(1 for n in in_db.values() if n > 1),
        refused_as_done=sum(len(t.refused_as_done) for t in tallies.values()), errors=len(errors),
        errors_outside_outage=sum(1 for when, _ in errors if when < down_at or when > up_at + grace),
        non_503=sorted({what for _when, what in errors if what != 503}, key=str),
        fatal=[t.fatal for t in tallies.values() if t.fatal],
        down_seconds=round(up_at - down_at, 2),
        recovery_seconds=round((min(after_up) - up_at) if after_up else float("inf"), 2),
        per_second_before=round(sum(1 for w in done.values() if w < down_at) / (down_at - t0), 1),
        per_second_after=round(sum(1 for w in done.values() if w > up_at) / max(end - up_at, 0.1), 1),
        requests=sum(t.requests for t in tallies.values()), wall_seconds=round(time.monotonic() - started, 1))
