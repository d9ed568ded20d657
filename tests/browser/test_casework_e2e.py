"""Issue 8's acceptance path in a real browser, through the real forms (CSRF on): a new supervisor logs in,
registers an enterprise, opens a case, records a visit, completes and submits the opinion letter; a leader
approves and issues it; the PDF downloads and verifies; the enterprise's reply is recorded; rectification with a
photo closes the case. Desktop and phone screenshots of every page land in test-output/screenshots/.

Each person has a tab of their own. Every `shoot()` also fails the test on a console error (CSP violations are
reported there), a script error, a server error or a page wider than a 390 px phone.
"""
from __future__ import annotations

import io
import re
import time
import uuid
from pathlib import Path

import pytest

from tests.browser.conftest import PASSWORD, beijing_today

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Qiao-Zhen 2026 chun"
ENTERPRISE = "北京京华智造科技有限公司"
OPINION = "工会劳动法律监督意见书"


def log_in(tab, login: str, password: str = PASSWORD, *, shoot: str | None = None):
    tab.goto("/login")
    if shoot:
        tab.shoot(shoot)
    tab.page.get_by_label("用户名").first.fill(login)
    tab.page.get_by_label("密码").first.fill(password)
    tab.page.get_by_role("button", name="登录").click()
    tab.page.wait_for_load_state("load")


def fresh_uscc() -> str:
    """A made-up 统一社会信用代码 with a correct check character."""
    from compliance.identifiers import uscc_check_char
    body = f"91110105{uuid.uuid4().int % 10**9:09d}"
    return body + uscc_check_char(body)


def tiny_jpeg() -> bytes:
    """A small real JPEG (what a phone's camera sends, only smaller)."""
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (96, 64), (164, 22, 26)).save(out, format="JPEG", quality=80)
    return out.getvalue()


def pdf_text(data: bytes) -> str:
    """The letter's text, without the line breaks and spaces of its layout."""
    import pdfplumber
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return re.sub(r"\s+", "", "".join(p.extract_text() or "" for p in pdf.pages))


def flash(page) -> str:
    return " ".join(page.locator("p.flash").all_inner_texts())


def open_step(page, trigger: str):
    """The step's form (a <details> on the case page), opened; returns it."""
    step = page.locator(f"#step-{trigger}")
    if step.get_attribute("open") is None:
        step.locator("summary").click()
    return step


#: What a supervisor types into a draft letter, by the field's label, when the page says it is still missing.
DRAFT_FACTS = {
    "收文单位": ENTERPRISE,
    "监督员": "刘洋\n赵敏",
    "走访地点": "北京市朝阳区酒仙桥路10号院3号楼5层",
    "接待人员": "陈建国（法定代表人）",
    "查明的事实": "你单位现有职工186人，已达到应当建立基层工会委员会的条件，但至今未建立工会。",
    "其他整改要求": "请于整改期限内依法组建工会，并将组建情况书面报送本委员会。",
    "抄送单位": "北京市朝阳区总工会",
}
#: Date facts: days from today.
DRAFT_DATES = {"走访日期": 0, "整改期限": 30, "书面答复期限": 15}


def settle_pdf_viewer(page, seconds: float = 5.0) -> None:
    """Let Chromium's PDF viewer (the draft preview in its frame) draw before a screenshot: only the picture
    depends on it. Bounded: at most `seconds`, then one more second to paint."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not any(f.url.startswith("chrome-extension://") for f in page.frames):
        page.wait_for_timeout(100)
    page.wait_for_timeout(1000)


def notices_table(page):
    """The case page's 文书 table."""
    return page.locator("table.list").filter(has=page.get_by_role("columnheader", name="文号／登记号"))


def complete_and_submit(sup, case_url: str, title: str, *, shots: str | None = None,
                        also: dict[str, str] | None = None) -> None:
    """The supervisor opens the draft from the case page, fills what approval still needs (and `also`, by
    label), saves, submits."""
    import datetime as dt
    page = sup.page
    page.goto(case_url)
    notices_table(page).locator("tr", has_text=title).get_by_role("link", name="填写、提交审批").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", name=re.compile(title)).is_visible()
    if shots:
        sup.shoot(f"{shots}-draft")
    missing = page.locator(".missing .tag").all_inner_texts()
    form = page.locator("form.draft")
    for label, value in (also or {}).items():
        form.get_by_label(label, exact=False).first.fill(value)
    if missing or also:
        for label in missing:
            field = form.get_by_label(label, exact=False).first
            if label in DRAFT_DATES:
                field.fill((beijing_today() + dt.timedelta(days=DRAFT_DATES[label])).isoformat())
            else:
                assert label in DRAFT_FACTS, f"the {title} draft asks for {label!r}, which the scenario does not know"
                field.fill(DRAFT_FACTS[label])
        form.get_by_role("button", name="保存草稿").click()
        page.wait_for_load_state("load")
        assert "草稿" in flash(page) and "已保存" in flash(page), flash(page)
    assert page.get_by_text("审批所需的内容已填写齐全").is_visible(), page.locator(".missing").all_inner_texts()
    if shots:
        sup.shoot(f"{shots}-draft-complete")
    page.get_by_role("button", name="提交审批").click()
    page.wait_for_load_state("load")
    assert "已提交审批" in flash(page), flash(page)


def approve_and_issue(leader, reference: str, title: str, *, shots: str | None = None) -> str:
    """The leader finds the draft in 待审批, approves it (the chair signs), and issues it from 待签发; returns
    its number."""
    page = leader.page
    page.get_by_role("link", name=re.compile("^待审批")).click()
    page.wait_for_load_state("load")
    row = page.locator("tr", has_text=reference).filter(has_text=title)
    if shots:
        leader.shoot(f"{shots}-approvals")
    row.get_by_role("link", name="审批").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", name=re.compile(title)).is_visible()
    if shots:
        settle_pdf_viewer(page)
        leader.shoot(f"{shots}-approval")
    page.get_by_role("button", name="审批通过").click()
    page.wait_for_load_state("load")
    assert "已审批" in flash(page), flash(page)

    page.get_by_role("link", name="待签发").click()
    page.wait_for_load_state("load")
    if shots:
        leader.shoot(f"{shots}-approved")
    page.get_by_label(f"选择 {ENTERPRISE} 的{title}").check()
    page.get_by_role("button", name="签发所选文书").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", name="签发结果").is_visible()
    row = page.locator("tr", has_text=reference).filter(has_text=title)
    assert row.get_by_text("已签发").is_visible()
    if shots:
        leader.shoot(f"{shots}-issued")
    return row.locator("td[data-label=发文字号]").inner_text().strip()


def test_new_supervisor_to_closed_case(live_server, browse):
    live = live_server
    today = beijing_today().isoformat()
    sup = browse("supervisor")
    page = sup.page

    # --- A new supervisor's first login: the password page comes first, then their own password.
    log_in(sup, live.logins["supervisor"], shoot="login")
    assert page.url.endswith("/account/password")
    assert page.get_by_text("请先设置您自己的新密码").is_visible()
    sup.shoot("first-login-password")
    page.get_by_label("当前密码").first.fill(PASSWORD)
    page.get_by_label("新密码", exact=True).first.fill(NEW_PASSWORD)
    page.get_by_label("再次输入新密码").first.fill(NEW_PASSWORD)
    page.get_by_role("button", name="修改密码").click()
    page.wait_for_load_state("load")
    assert "密码已修改" in flash(page)
    sup.shoot("home")

    # --- Registers an enterprise (from the menu).
    page.get_by_role("link", name="登记企业").click()
    page.wait_for_load_state("load")
    sup.shoot("enterprise-new")
    uscc = fresh_uscc()
    page.get_by_label("统一社会信用代码").fill(uscc)
    page.get_by_label("企业名称").fill(ENTERPRISE)
    page.get_by_label("企业住所").fill("北京市朝阳区酒仙桥路10号院3号楼5层")
    page.get_by_label("法定代表人").fill("陈建国")
    page.get_by_label("职工人数").fill("186")
    page.get_by_label("上月工资总额（元）").fill("1286400.00")
    page.get_by_role("button", name="登记").click()
    page.wait_for_load_state("load")
    assert f"已登记企业“{ENTERPRISE}”" in flash(page), flash(page)

    # --- Opens a case against it: 不建会, with the colleague who will go along on the visit.
    assert page.get_by_role("heading", name=ENTERPRISE).is_visible()
    sup.shoot("case-new")
    page.get_by_label("不建会").check()
    page.get_by_label("案情摘要").fill("职工186人，已达到建会条件，至今未建立工会。")
    page.get_by_label("赵敏（").check()
    assert page.get_by_label("刘洋（").is_checked()   # the one opening it works it by default
    page.get_by_role("button", name="立案").click()
    page.wait_for_load_state("load")
    assert "已立案" in flash(page), flash(page)
    reference = page.get_by_role("heading", level=1).inner_text()
    assert re.fullmatch(r"京朝酒工监案〔\d{4}〕\d+号", reference), reference
    case_url = page.url
    sup.shoot("case-registered")

    # --- Records the visit (two supervisors, today).
    step = open_step(page, "record_visit")
    step.get_by_label("走访日期").fill(today)
    step.get_by_label("走访发现的问题").fill("你单位现有职工186人，已达到应当建立基层工会委员会的条件，但至今未建立工会。")
    step.get_by_label("走访监督员（至少两名）").fill("刘洋、赵敏")
    sup.shoot("step-record-visit")
    step.get_by_role("button", name="记录走访宣讲").click()
    page.wait_for_load_state("load")
    assert "已记录走访宣讲" in flash(page), flash(page)
    sup.shoot("case-visited")

    # The visit's letter (宣讲告知书) goes out first: completed and submitted, approved and issued by the leader.
    leader = browse("approver")
    log_in(leader, live.logins["approver"])
    complete_and_submit(sup, case_url, "工会劳动法律监督宣讲告知书")
    approve_and_issue(leader, reference, "工会劳动法律监督宣讲告知书")

    # --- Records how the letter reached the enterprise (送达): its 30 days run from today.
    page.goto(case_url)
    notices_table(page).locator("tr", has_text="工会劳动法律监督宣讲告知书").get_by_role("link", name="送达").click()
    page.wait_for_load_state("load")
    page.get_by_label("送达方式").select_option("direct")
    page.get_by_label("送达日期").fill(today)
    page.get_by_label("签收人").fill("企业行政主管")
    sup.shoot("notice-service")
    page.get_by_role("button", name="记录送达").click()
    page.wait_for_load_state("load")
    assert "已记录工会劳动法律监督宣讲告知书的送达" in flash(page), flash(page)
    # The letter says "逾期未整改的…提出监督意见": the opinion waits, unless the enterprise refuses, as it does.
    step = open_step(page, "record_refusal")
    step.get_by_label("拒绝日期").fill(today)
    step.get_by_label("拒绝情况摘要").fill("企业负责人明确表示不组建工会")
    step.get_by_role("button", name="记录企业拒绝整改").click()
    page.wait_for_load_state("load")
    assert "已记录企业拒绝整改" in flash(page), flash(page)

    # --- Issues the opinion: the step drafts the 监督意见书.
    page.goto(case_url)
    step = open_step(page, "issue_opinion")
    step.get_by_role("button", name="发出监督意见书").click()
    page.wait_for_load_state("load")
    assert "已发出监督意见书" in flash(page), flash(page)
    assert page.get_by_role("cell", name="监督意见书").first.is_visible()
    sup.shoot("case-opinion-drafted")

    # --- The supervisor completes and submits the opinion letter; the leader approves and issues it.
    complete_and_submit(sup, case_url, OPINION, shots="opinion",
                        also={"其他整改要求": DRAFT_FACTS["其他整改要求"], "抄送单位": DRAFT_FACTS["抄送单位"]})
    number = approve_and_issue(leader, reference, OPINION, shots="opinion")
    assert re.fullmatch(r"京朝酒工监意〔\d{4}〕\d+号", number), number

    # --- The issued PDF downloads from the case page …
    page.goto(case_url)
    row = notices_table(page).locator("tr", has_text=number)
    assert row.get_by_text("已签发").is_visible()
    sup.shoot("case-opinion-issued")
    pdf_link = row.get_by_role("link", name="PDF")
    with page.expect_download() as download:
        pdf_link.click(modifiers=["Alt"])   # Chromium's "download this link" (a plain click opens its PDF viewer)
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-") and download.value.suggested_filename.endswith(".pdf")
    text = pdf_text(pdf)
    for expected in (number, ENTERPRISE, "并将组建情况书面报送本委员会", "北京市朝阳区总工会"):
        assert expected in text, f"{expected!r} is not in the issued letter"

    # … and verifies: uploaded at /verify by anyone (not logged in), it matches the archive.
    public = browse("public")
    public.goto("/verify")
    public.shoot("verify")
    public.page.locator("input[name=pdf]").set_input_files(
        files=[{"name": f"{number}.pdf", "mimeType": "application/pdf", "buffer": pdf}])
    public.page.get_by_role("button", name="核验").click()
    public.page.wait_for_load_state("load")
    assert public.page.get_by_text(f"文件与存档一致：{number}").is_visible()
    public.shoot("verify-match")
    # The same file with one byte changed does not.
    public.page.locator("input[name=pdf]").set_input_files(
        files=[{"name": "changed.pdf", "mimeType": "application/pdf", "buffer": pdf[:-1] + b" "}])
    public.page.get_by_role("button", name="核验").click()
    public.page.wait_for_load_state("load")
    assert public.page.get_by_text("存档中没有与此文件一致的文书").is_visible()
    # The verification link printed on the letter (the QR code's target) shows the same notice.
    sup.page.goto(case_url)
    verify_href = row.get_by_role("link", name="核验").get_attribute("href")
    public.goto(verify_href)
    assert public.page.get_by_text(number).first.is_visible()
    public.shoot("verify-code")

    # --- Records the enterprise's written reply.
    step = open_step(page, "record_reply")
    step.get_by_label("答复日期").fill(today)
    step.get_by_label("答复内容摘要").fill("企业书面答复：同意在三十日内召开职工大会，筹备建立工会。")
    step.get_by_role("button", name="记录企业书面答复").click()
    page.wait_for_load_state("load")
    assert "已记录企业书面答复" in flash(page), flash(page)
    sup.shoot("case-replied")

    # --- Uploads a photo of the rectification …
    upload = page.locator("form.evidence-upload")
    upload.locator("#evidence-file").set_input_files(
        files=[{"name": "工会牌匾.jpg", "mimeType": "image/jpeg", "buffer": tiny_jpeg()}])
    upload.get_by_label(re.compile("^说明")).fill("整改后的工会牌匾照片")
    upload.get_by_role("button", name="上传", exact=True).click()
    page.wait_for_load_state("load")
    assert "已上传证据“工会牌匾.jpg”" in flash(page), flash(page)
    assert page.locator("table.evidence-list").get_by_text("工会牌匾.jpg").is_visible()
    sup.shoot("case-evidence")

    # … and confirms the rectification citing it: the case closes.
    step = open_step(page, "rectify")
    step.get_by_label("整改措施").fill("已召开职工大会，选举产生工会委员会。")
    step.get_by_label("整改完成日期").fill(today)
    step.get_by_label(re.compile("^工会牌匾\\.jpg")).check()
    sup.shoot("step-rectify")
    step.get_by_role("button", name="确认整改完成").click()
    page.wait_for_load_state("load")
    assert "已确认整改完成" in flash(page), flash(page)
    assert page.get_by_text("（已结案）").is_visible()
    assert page.get_by_text("整改证明材料：工会牌匾.jpg").first.is_visible()
    sup.shoot("case-closed")

    # --- The case list shows it closed; the approver (the leader) sees the same case.
    sup.goto("/cases")
    listed = page.locator("tr", has=page.get_by_role("link", name=reference))
    assert listed.get_by_text("整改完成").first.is_visible(), listed.inner_text()
    sup.shoot("cases")
    leader.goto(case_url.removeprefix(live.url))
    assert leader.page.get_by_role("heading", name=reference).is_visible()
    leader.shoot("case-closed")

    for tab in (sup, public, leader):
        tab.check()


def test_admin_pages(live_server, browse):
    admin = browse("admin")
    log_in(admin, live_server.logins["admin"])
    assert re.search(r"/admin/users", admin.page.url)
    admin.shoot("admin-users")
    for path, name in [("/admin/issuers", "admin-issuers"), ("/admin/locks", "admin-locks"),
                       ("/admin/audit", "admin-audit")]:
        admin.goto(path)
        admin.shoot(name)
    # The street's own letterhead is complete (the scenario's letters can be issued).
    admin.goto("/admin/issuers")
    assert admin.page.get_by_text("酒仙桥街道").first.is_visible()
    admin.check()
