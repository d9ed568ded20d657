"""Builders shared by the tests and the benchmarks: scratch databases and cases with letters waiting to go out.

They go through the real operations (open_case, fire_trigger, approve_notice); nothing here bypasses a rule.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session

from compliance.identifiers import uscc_check_char
from compliance.models import Enterprise, Jurisdiction, User

VISIT = {"visited_on": "2026-11-20", "findings": "你单位现有职工186人，已达到应当建立基层工会委员会的条件，但至今未建立工会。",
         "supervisors": ["刘洋（京朝监0231）", "赵敏（京朝监0187）"]}


def scratch_database(base_url: str, prefix: str, *, owner: str | None = None) -> tuple[str, Callable[[], None]]:
    """Create an empty PostgreSQL database beside base_url's; return its URL and a function that drops it.

    owner: a role (see pg_roles) that owns the new database; the URL returned then connects as that role.
    """
    url = make_url(base_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' OWNER "{owner}"' if owner else "")))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    scratch = url.set(database=name)
    if owner:
        scratch = scratch.set(username=owner, password=_ROLE_PASSWORDS.get(owner))
    return scratch.render_as_string(hide_password=False), drop


#: Passwords of the roles pg_roles created in this process.
_ROLE_PASSWORDS: dict[str, str] = {}


def pg_roles(base_url: str, prefix: str) -> tuple[str, str, Callable[[], None]]:
    """An owner role (runs migrations, owns the tables) and an application role (what the service connects as),
    named uniquely for this run on the shared server; returns their names and a function that drops both
    (call it after dropping the databases they own). base_url must connect as a role that may create roles."""
    tag = uuid.uuid4().hex[:10]
    owner, app = f"{prefix}_owner_{tag}", f"{prefix}_app_{tag}"
    admin = create_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for role in (owner, app):
            # A password too, so the roles log in where the server wants one (scram) as well as where it trusts.
            _ROLE_PASSWORDS[role] = uuid.uuid4().hex
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION '
                              f"PASSWORD '{_ROLE_PASSWORDS[role]}'"))

    def drop() -> None:
        with admin.connect() as conn:
            for role in (app, owner):
                conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()

    return owner, app, drop


def as_role(url: str, role: str) -> str:
    """The same database's URL, connecting as another role (with its password when pg_roles made it)."""
    return make_url(url).set(username=role, password=_ROLE_PASSWORDS.get(role)).render_as_string(hide_password=False)


def prepare_database(url: str, *, owner_url: str | None = None) -> None:
    """Migrate a database to head and add the Beijing jurisdictions (what `compliance db upgrade` does).

    owner_url: on PostgreSQL, migrate as this (owner) role, then give url's role the application role's rights
    (compliance.protection.apply_grants); the jurisdictions are then added through url, as the service would.
    """
    from sqlalchemy.orm import sessionmaker

    from compliance.db import make_engine
    from compliance.migrate import upgrade
    from compliance.seed import seed_jurisdictions
    upgrade(owner_url or url)
    if owner_url and owner_url != url and url.startswith("postgresql"):
        from compliance.protection import apply_grants
        owner_engine = make_engine(owner_url)
        try:
            with owner_engine.begin() as conn:
                apply_grants(conn, make_url(url).username)
        finally:
            owner_engine.dispose()
    engine = make_engine(url)
    try:
        with sessionmaker(bind=engine)() as session:
            seed_jurisdictions(session)
            complete_letterheads(session)
            session.commit()
    finally:
        engine.dispose()


#: Invented committee chairs (主任) and vice-chairs: each committee signs with its own.
CHAIRS = ("王秀英", "李卫东", "赵志刚", "陈淑华", "刘建军", "杨桂兰", "黄德明", "周晓燕", "吴国庆", "徐丽娟")


def invented_letterhead(j: Jurisdiction) -> dict:
    """A complete made-up letterhead for a committee (address, contact, chair, vice-chair, bank)."""
    chair, vice = CHAIRS[j.id % len(CHAIRS)], CHAIRS[(j.id + 3) % len(CHAIRS)]
    return {"address": f"北京市{j.name}示例路{j.id}号（演示地址）", "contact": "办公室，010-0000 0000（演示）",
            "phone": "010-0000 0000", "chair": chair, "vice_chair": vice, "federation_chair": CHAIRS[(j.id + 5) % len(CHAIRS)],
            "bank": {"account_name": j.federation_name, "bank": "示例银行北京分行（演示）",
                     "account_no": "0000 0000 0000 0000 000"}}


def complete_letterheads(session: Session) -> None:
    """Fill every committee's letterhead that has no chair yet (a real federation's admin types its own)."""
    from sqlalchemy import select
    for j in session.scalars(select(Jurisdiction)):
        if not (j.letterhead or {}).get("chair"):
            j.letterhead = invented_letterhead(j)
    session.flush()


#: An unpaid-funds + no-union case from the visit to the listing, every step allowed on 2026-11-24 once the
#: previous step's letter has gone out.
CLIMB_DAY = "2026-11-24"
UNPAID_FUNDS_CLIMB = [
    ("record_visit", {"visited_on": CLIMB_DAY, "findings": "职工120人，未建会，未缴纳工会经费", "supervisors": ["王芳", "李强"]}),
    # the visit letter's period runs from its service: the refusal lets the opinion go out the same day
    ("record_refusal", {"refused_on": CLIMB_DAY, "summary": "企业拒绝整改"}),
    ("issue_opinion", {}),
    ("record_refusal", {"refused_on": CLIMB_DAY, "summary": "企业拒绝整改"}),
    ("issue_recommendation", {}),
    ("demand_payment", {}),
    ("record_refusal", {"refused_on": CLIMB_DAY, "summary": "企业拒绝缴纳"}),
    ("apply_payment_order", {}),
    # no listing article for unpaid funds in BJM: the user states the basis
    ("request_listing", {"legal_basis": "《北京市工会经费收缴管理办法》第十二条（示例）"}),
    ("record_listing", {"authority": "北京市朝阳区人力资源和社会保障局", "listed_on": CLIMB_DAY,
                        "reference": "朝人社信〔2026〕3号", "seriousness": "一般"}),
]

#: What a supervisor completes on drafts the case file cannot fill by itself (the payment order is a district
#: letter: a supervisor of the district completes it, never its approver, who must not have edited it).
DRAFT_COMPLETIONS = {"payment_order": {"applicant": {"address": "北京市朝阳区示例路1号", "representative": "李卫东"}}}


def issue_drafts(session: Session, case_id: int, *, approver: User, now: dt.datetime, store,
                 editor: User | None = None, public_base: str = "http://127.0.0.1:5000") -> list:
    """The editor completes every draft of a case that needs it (DRAFT_COMPLETIONS), the chair approves and issues
    them all (the letters go out); returns them.

    editor: a supervisor with the issuing committee in scope (a district's for the county-level letters of a street
    case); four eyes: never the approver. Needed only when a draft is to be completed.
    """
    from sqlalchemy import select

    from compliance.models import Notice
    from compliance.operations.notices import approve_notice, issue_notice, update_draft
    drafts = session.scalars(select(Notice).where(Notice.case_id == case_id, Notice.status == "draft")
                             .order_by(Notice.id)).all()
    for notice in drafts:
        if notice.notice_type in DRAFT_COMPLETIONS:
            if editor is None:
                raise ValueError(f"issue_drafts: the {notice.notice_type} draft must be completed: pass editor= "
                                 "(a supervisor of its issuer, not the approver)")
            update_draft(session, notice.id, DRAFT_COMPLETIONS[notice.notice_type], actor=editor, now=now)
        approve_notice(session, notice.id, approver=approver, now=now)
        issue_notice(session, notice.id, actor=approver, now=now, store=store, public_base=public_base)
    return drafts


def refuse_after_visit(session: Session, case_id: int, *, actor: User, now: dt.datetime):
    """The enterprise refuses to rectify after the visit (recorded on now's business day): the opinion may then go
    out although the visit letter's period, which runs from its service, has not started or lapsed."""
    from compliance.operations.cases import fire_trigger
    return fire_trigger(session, case_id, "record_refusal", {"refused_on": now, "summary": "企业负责人表示拒绝整改"},
                        actor=actor, now=now)


def start_visit_period(session: Session, case, served_on: dt.date) -> None:
    """Test shortcut for list and dashboard tests: the visit letter's period runs as if the letter had been served
    on served_on, without drafting, approving and issuing it (the notice stays a draft; replay_case would not
    reproduce this case: tests of the ladder use serve_issued)."""
    from sqlalchemy import select

    from compliance.models import Deadline
    from compliance.operations.cases import set_started
    from compliance.policy import load_policy
    from workflows.issuing import start_on_service
    row = session.scalars(select(Deadline).where(Deadline.case_id == case.id,
                                                 Deadline.rule_key == "visit_rectification",
                                                 Deadline.status == "awaiting_service")).one()
    facts, due = start_on_service(case.facts(), "visit", served_on, row.rule(), load_policy(session).calendar)
    case.apply_facts(facts)
    set_started(row, due)
    session.flush()


def serve_issued(session: Session, case_id: int, *, actor: User, served_on: dt.date, now: dt.datetime,
                 method: str = "direct") -> list:
    """Record the service of every issued, not yet served notice of a case (served by `actor` on served_on)."""
    from sqlalchemy import select

    from compliance.models import Notice
    from compliance.operations.service import current_service, record_service
    issued = session.scalars(select(Notice).where(Notice.case_id == case_id, Notice.status == "issued")
                             .order_by(Notice.id)).all()
    done = []
    for notice in issued:
        if current_service(session, notice.id) is None:
            done.append(record_service(session, notice.id, actor=actor, now=now, method=method, served_on=served_on,
                                       served_by=actor, tracking_number="1234567890" if method == "mail" else None))
    return done


def new_enterprise(session: Session, jurisdiction: Jurisdiction, name: str, **kw) -> Enterprise:
    """An enterprise with a fresh, valid 统一社会信用代码 (made up) unless one is given."""
    if "uscc" not in kw:
        body = f"9111010{uuid.uuid4().int % 10**10:010d}"
        kw["uscc"] = body + uscc_check_char(body)
    kw.setdefault("address", "北京市朝阳区酒仙桥路10号院3号楼5层")
    kw.setdefault("legal_representative", "陈建国")
    kw.setdefault("monthly_payroll", Decimal("1286400.00"))
    enterprise = Enterprise(name=name, jurisdiction=jurisdiction, **kw)
    session.add(enterprise)
    session.flush()
    return enterprise


def approved_letters(session: Session, *, jurisdiction: Jurisdiction, drafter: User, approver: User, count: int,
                     now: dt.datetime, up_to: str = "issue_opinion", name: str = "北京京华智造科技{}有限公司") -> list[int]:
    """`count` no-union cases visited (and, by default, given an opinion), each with its last letter approved;
    returns the approved notices' ids, ready to be issued."""
    from compliance.operations.cases import fire_trigger, open_case
    from compliance.operations.notices import approve_notice
    ids = []
    for i in range(count):
        enterprise = new_enterprise(session, jurisdiction, name.format(i))
        case = open_case(session, enterprise=enterprise, violations=["no_union"], opened_by=drafter, now=now)
        notices = fire_trigger(session, case.id, "record_visit", VISIT, actor=drafter, now=now).notices
        if up_to == "issue_opinion":
            refuse_after_visit(session, case.id, actor=drafter, now=now)  # the visit letter's period has not run
            notices = fire_trigger(session, case.id, "issue_opinion", {}, actor=drafter, now=now).notices
        [notice] = notices
        approve_notice(session, notice.id, approver=approver, now=now)
        ids.append(notice.id)
    return ids


def tiny_png(seed: int = 0) -> bytes:
    """A real 1×1 PNG (signature, IHDR, IDAT, IEND with their CRCs); seed picks the pixel, so the bytes differ."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    pixel = bytes([0, seed % 256, (seed // 256) % 256, 30])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(pixel)) + chunk(b"IEND", b""))


def build_archive(session: Session, *, store, now: dt.datetime, count: int = 3) -> dict:
    """A street with `count` cases whose opinions went out, one of them withdrawn (its withdrawal notice issued
    too), a photo attached to each case, and one more notice approved but not issued; committed by the caller.

    The second opinion's (or the withdrawal's) service is recorded, then corrected: a superseded and a current
    service record.
    Returns ids: {"street", "drafter", "approver", "issued" (notice ids), "withdrawn", "withdrawal", "approved",
    "attachments", "codes" (verification codes of every issued notice), "services" ([superseded, current])}.
    """
    from sqlalchemy import select

    from compliance.models import JurisdictionLevel, Notice, Role
    from compliance.operations.attachments import attach_evidence
    from compliance.operations.notices import approve_notice, issue_notice, request_withdrawal
    from compliance.clock import business_date
    from compliance.operations.service import correct_service, record_service
    from compliance.operations.users import create_user
    from compliance.seed import add_jurisdiction
    chaoyang = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
    tag = uuid.uuid4().hex[:8]
    street = add_jurisdiction(session, code=f"A{tag}", name=f"档案街道{tag}", level=JurisdictionLevel.STREET,
                              parent=chaoyang, federation_name=f"档案街道{tag}总工会", issuer_code=f"京档{tag[:4]}工监")
    street.letterhead = {**invented_letterhead(street), "chair": "王秀英", "vice_chair": "李卫东"}
    drafter = create_user(session, login=f"ad{tag}", name="起草人", password="archive-test!", jurisdiction=street,
                          roles={Role.SUPERVISOR})
    chair = create_user(session, login=f"aa{tag}", name="审批人", password="archive-test!", jurisdiction=street,
                        roles={Role.APPROVER})
    ids = approved_letters(session, jurisdiction=street, drafter=drafter, approver=chair, count=count, now=now,
                           name="北京档案测试{}有限公司")
    for notice_id in ids:
        issue_notice(session, notice_id, actor=chair, now=now, store=store, public_base="http://127.0.0.1:5000")
    withdrawn = ids[0]
    withdrawal = request_withdrawal(session, withdrawn, actor=drafter, reason="统一社会信用代码有误", now=now)
    approve_notice(session, withdrawal.id, approver=chair, now=now)
    issue_notice(session, withdrawal.id, actor=chair, now=now, store=store, public_base="http://127.0.0.1:5000")
    [approved] = approved_letters(session, jurisdiction=street, drafter=drafter, approver=chair, count=1, now=now,
                               up_to="record_visit", name="北京档案草稿{}有限公司")
    attachments = []
    for i, notice_id in enumerate(ids):
        case_id = session.get(Notice, notice_id).case_id
        attachments.append(attach_evidence(session, case_id, data=tiny_png(i + 1), filename=f"现场照片{i}.png",
                                           actor=drafter, now=now, store=store).id)
    session.flush()
    # The second opinion (with one case: the withdrawal) was served, recorded wrongly first and then corrected
    # (its case's photo as the proof).
    served = ids[1] if count > 1 else withdrawal.id
    first = record_service(session, served, actor=drafter, now=now, method="mail", served_on=business_date(now),
                           served_by=drafter, tracking_number="1180000000000", recipient="林玥")
    current = correct_service(session, served, actor=drafter, now=now, reason="邮件未投递，改为当面送达",
                              method="direct", served_on=business_date(now), served_by=drafter, recipient="林玥",
                              proof_attachment_id=attachments[ids.index(served) if count > 1 else 0])
    issued = [*ids, withdrawal.id]
    codes = {n.id: n.verification_code for n in session.scalars(select(Notice).where(Notice.id.in_(issued)))}
    return {"street": street.id, "drafter": drafter.id, "approver": chair.id, "issued": issued,
            "withdrawn": withdrawn, "withdrawal": withdrawal.id, "approved": approved, "attachments": attachments,
            "codes": codes, "services": [first.id, current.id]}
