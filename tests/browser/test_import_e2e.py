"""Bulk import in a real browser: the supervisor uploads a GBK CSV with a bad row, reads the dry run's report,
imports the good rows, downloads the bad ones; the page fits a phone and has no console or CSP errors."""
from __future__ import annotations

import csv
import io

import pytest

from tests.browser.test_casework_e2e import fresh_uscc, log_in

pytestmark = pytest.mark.browser


def test_upload_report_confirm_and_bad_rows(live_server, browse, tmp_path):
    live_server.flask_app.config["IMPORT_FOLDER"] = str(tmp_path / "imports")
    rows = [["统一社会信用代码", "企业名称", "所在区", "街道/乡镇", "职工人数"]]
    rows += [[fresh_uscc(), f"北京浏览器导入{i}有限公司", "朝阳区", "酒仙桥街道", str(40 + i)] for i in range(5)]
    rows.insert(3, ["91110105MA0000000X", "校验位错误有限公司", "朝阳区", "酒仙桥街道", "12"])
    text = io.StringIO(newline="")
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    path = tmp_path / "企业名单.csv"
    path.write_bytes(text.getvalue().encode("gbk"))

    tab = browse("import")
    log_in(tab, live_server.logins["colleague"])
    tab.page.get_by_role("link", name="批量导入").click()
    tab.page.wait_for_load_state("load")
    tab.shoot("import-form")
    tab.page.locator('input[type="file"]').set_input_files(str(path))
    tab.page.get_by_role("button", name="上传并试导入").click()
    tab.page.wait_for_load_state("load")
    status = tab.page.get_by_role("status").first.inner_text()
    assert "共读取 6 行：正确 5 行，有误 1 行" in status and "试导入" in status
    assert tab.page.locator('td[data-label="行号"]').all_inner_texts() == ["4"]
    tab.shoot("import-report")

    with tab.page.expect_download() as download:
        tab.page.get_by_role("link", name="下载有误的行").click()
    content = open(download.value.path(), "rb").read().decode("gb18030")
    assert "校验位错误有限公司" in content and "错误原因" in content

    tab.page.get_by_label("只导入正确的行").first.check()   # the confirmation form comes first
    tab.page.get_by_role("button", name="确认导入").click()
    tab.page.wait_for_load_state("load")
    assert "已导入企业 5 条" in tab.page.get_by_role("status").first.inner_text()
    assert tab.page.get_by_role("button", name="确认导入").count() == 0   # one upload, one import
    tab.shoot("import-done")

    tab.goto("/enterprises?q=浏览器导入")
    assert tab.page.get_by_text("北京浏览器导入3有限公司").count() == 1
    tab.check()
