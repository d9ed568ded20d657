"""`compliance notices issue-batch`: many approved notices, several renderer processes, gapless numbers."""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from compliance.db import make_engine
from compliance.migrate import upgrade
from compliance.models import Jurisdiction, Notice, Role
from compliance.operations.users import create_user
from compliance.seed import seed_jurisdictions
from compliance.testing import complete_letterheads
from compliance.testing import approved_letters

NOW = dt.datetime(2026, 11, 24, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
COUNT = 7


def test_issue_batch_command_numbers_every_approved_notice(empty_database_url, tmp_path):
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    with sessionmaker(bind=engine)() as s:
        seed_jurisdictions(s)
        complete_letterheads(s)
        chaoyang = s.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
        drafter = create_user(s, login="drafter", name="刘洋", password="batch-password", jurisdiction=chaoyang,
                              roles={Role.SUPERVISOR})
        chair = create_user(s, login="chair", name="张国栋", password="batch-password", jurisdiction=chaoyang,
                            roles={Role.APPROVER})
        approved_letters(s, jurisdiction=chaoyang, drafter=drafter, approver=chair, count=COUNT, now=NOW,
                         up_to="record_visit", name="北京批量{}有限公司")
        s.commit()
    env = {**os.environ, "COMPLIANCE_DATABASE_URL": empty_database_url, "COMPLIANCE_SECRET_KEY": "x",
           "COMPLIANCE_DOCUMENT_STORE": str(tmp_path / "docs"),
           "COMPLIANCE_PUBLIC_BASE_URL": "https://jiandu.example.org"}
    out = subprocess.run([sys.executable, "-m", "compliance.cli", "notices", "issue-batch", "--by", "drafter",
                          "--workers", "2"], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"已签发 {COUNT} 份" in out.stdout
    with sessionmaker(bind=engine)() as s:
        notices = s.scalars(select(Notice).where(Notice.notice_type == "visit")).all()
    engine.dispose()
    assert {n.status for n in notices} == {"issued"}
    seqs = sorted(int(re.search(r"〔2026〕(\d+)号", n.number).group(1)) for n in notices)
    assert seqs == list(range(1, COUNT + 1))
    assert all((tmp_path / "docs" / n.sha256[:2] / n.sha256[2:4] / f"{n.sha256}.pdf").exists() for n in notices)
    # Nothing left: a second run says so and changes nothing.
    again = subprocess.run([sys.executable, "-m", "compliance.cli", "notices", "issue-batch", "--by", "drafter"],
                           env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert again.returncode == 0 and "没有待签发" in again.stdout


def test_a_refused_chunk_stops_the_batch_and_says_how_many_went_out(empty_database_url, tmp_path):
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    with sessionmaker(bind=engine)() as s:
        seed_jurisdictions(s)
        complete_letterheads(s)
        chaoyang = s.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
        drafter = create_user(s, login="drafter", name="刘洋", password="batch-password", jurisdiction=chaoyang,
                              roles={Role.SUPERVISOR})
        chair = create_user(s, login="chair", name="张国栋", password="batch-password", jurisdiction=chaoyang,
                            roles={Role.APPROVER})
        ids = approved_letters(s, jurisdiction=chaoyang, drafter=drafter, approver=chair, count=4, now=NOW,
                               up_to="record_visit", name="北京分组{}有限公司")
        broken = s.get(Notice, ids[2])
        broken.snapshot = {**broken.snapshot, "findings": ["職工\ue000"]}   # stored before the font check existed
        s.commit()
    env = {**os.environ, "COMPLIANCE_DATABASE_URL": empty_database_url, "COMPLIANCE_SECRET_KEY": "x",
           "COMPLIANCE_DOCUMENT_STORE": str(tmp_path / "docs"),
           "COMPLIANCE_PUBLIC_BASE_URL": "https://jiandu.example.org"}
    out = subprocess.run([sys.executable, "-m", "compliance.cli", "notices", "issue-batch", "--by", "drafter",
                          "--workers", "1", "--chunk", "2"], env=env, capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    [line] = out.stderr.strip().splitlines()
    assert line.startswith("Error: 已签发 2 份（京朝工监访〔2026〕1号 … 京朝工监访〔2026〕2号）后停止，其余 2 份未签发：")
    assert "U+E000" in line
    with sessionmaker(bind=engine)() as s:
        states = [(s.get(Notice, i).status, s.get(Notice, i).seq) for i in ids]
    engine.dispose()
    assert states == [("issued", 1), ("issued", 2), ("approved", None), ("approved", None)]
    assert len(list((tmp_path / "docs").glob("??/??/*.pdf"))) == 2 and not list((tmp_path / "docs").glob(".staging/*"))
