"""`compliance import …` and `compliance export …`: spreadsheets in and out from the shell.

    compliance import enterprises FILE [--dry-run] [--mode all-or-nothing|good-rows] [--bad-rows OUT] --by LOGIN
    compliance import cases FILE … (the same options)
    compliance import template enterprises|cases OUT
    compliance export cases|enterprises [--format xlsx|csv] [filters] OUT --by LOGIN
    compliance export listing-batch [--format xlsx|csv] OUT --by LOGIN

Exit status of an import: 0 when every row was good, 3 when some rows were bad (the report and --bad-rows say
which), 1 when the file was refused as a whole (one line on stderr).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from compliance.cli.common import one_line_errors, require_current_schema, user_by_login
from compliance.db import db

#: Bad rows printed on the terminal (all of them go to --bad-rows).
SHOWN = 50
BAD_ROWS_STATUS = 3
_PHASES = {"validate": "检查", "check": "查重", "write": "写入"}


@click.group("import")
def import_group():
    """批量导入企业或案件（.xlsx 或 .csv，UTF-8 或 GBK）。"""


def _import_command(kind: str):
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="只检查，不写入（报告每一个有误的行）。")
    @click.option("--mode", type=click.Choice(["all-or-nothing", "good-rows"]), default="all-or-nothing",
                  show_default=True, help="all-or-nothing：有任何错误则不导入；good-rows：导入正确的行。")
    @click.option("--bad-rows", "bad_rows", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="把有误的行（加“错误原因”列）写入此文件，格式与上传的相同。")
    @click.option("--by", "by_login", required=True, help="执行导入的用户（登录名）。")
    @with_appcontext
    @one_line_errors
    def command(file: Path, dry_run: bool, mode: str, bad_rows: Path | None, by_login: str):
        from compliance.clock import utcnow
        from compliance.operations.imports import import_file, settings
        require_current_schema()
        actor = user_by_login(by_login)
        limits = settings(current_app.config)
        size = file.stat().st_size
        if size > limits["max_bytes"]:
            raise click.ClickException(f"文件过大：上限为 {limits['max_bytes'] // (1024 * 1024)} MB")
        data = file.read_bytes()
        bar = _Bar()
        try:
            report = import_file(db.session, actor=actor, kind=kind, data=data, filename=file.name, mode=mode,
                                 dry_run=dry_run, now=utcnow(), progress=bar, address="cli", **limits)
        finally:
            bar.close()
        if report.imported:
            db.session.commit()
        else:
            db.session.rollback()
        _print_report(report)
        if bad_rows is not None and report.bad:
            from compliance.imports import bad_rows_file
            content, _name, _type = bad_rows_file(report)
            bad_rows.write_bytes(content)
            click.echo(f"有误的行已写入 {bad_rows}")
        if report.bad:
            raise SystemExit(BAD_ROWS_STATUS)
    command.__doc__ = f"导入{'企业' if kind == 'enterprises' else '案件'}：先 --dry-run 检查，再导入。"
    return command


import_group.command("enterprises")(_import_command("enterprises"))
import_group.command("cases")(_import_command("cases"))


@import_group.command("template")
@click.argument("kind", type=click.Choice(["enterprises", "cases"]))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def template_command(kind: str, out: Path):
    """写出导入模板（按文件名后缀 .xlsx 或 .csv）。"""
    from compliance.imports import template
    fmt = "csv" if out.suffix.lower() == ".csv" else "xlsx"
    out.write_bytes(template(kind, fmt))
    click.echo(f"模板已写入 {out}")


class _Bar:
    """A click progress bar per phase, fed by the operation's progress callback."""

    def __init__(self):
        self.phase, self.bar, self.shown = None, None, 0

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if phase != self.phase:
            self.close()
            self.phase, self.shown = phase, 0
            self.bar = click.progressbar(length=max(total or 0, done, 1), label=_PHASES.get(phase, phase),
                                         file=sys.stderr, show_pos=True)
            self.bar.__enter__()
        if total is not None and total > self.bar.length:
            self.bar.length = total
        if done > self.bar.length:
            self.bar.length = done
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _print_report(report) -> None:
    click.echo(report.summary)
    if report.ignored_columns:
        click.echo(f"未识别、已忽略的列：{'、'.join(report.ignored_columns)}")
    for bad in report.bad[:SHOWN]:
        click.echo(f"  第{bad.row}行：{bad.reason}")
    if len(report.bad) > SHOWN:
        click.echo(f"  ……另有 {len(report.bad) - SHOWN:,} 行有误（--bad-rows 文件写出全部）")


# ------------------------------------------------------------------------------------------------- export

@click.group("export")
def export_group():
    """导出案件、企业列表，或信用惩戒提请批次（.xlsx 或 .csv）。"""


def _fmt(fmt: str | None, out: Path) -> str:
    return fmt or ("csv" if out.suffix.lower() == ".csv" else "xlsx")


def _scope_of(actor):
    from compliance.access import Permission, require
    from compliance.scoping import Scope
    require(actor, Permission.VIEW, absent="")
    return Scope.of(db.session, actor)


def _place_arg(place: str | None) -> str:
    """A jurisdiction code (110105) or id as typed → the id the list filters read."""
    from compliance.models import Jurisdiction
    if not place:
        return ""
    found = db.session.scalar(select(Jurisdiction.id).where(Jurisdiction.code == place))
    if found is None and not place.isdigit():
        raise click.ClickException(f"没有代码为 {place} 的辖区")
    return str(found if found is not None else place)


def _write(out: Path, fmt: str, sheet: str, header, widths, rows) -> None:
    from compliance.exports import write_csv, write_xlsx
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "wb") as fh:
        capped = write_csv(fh, header, rows) if fmt == "csv" else write_xlsx(fh, sheet, header, rows, widths=widths)
    os.replace(tmp, out)
    click.echo(f"已导出到 {out}" + ("（已达导出上限，只含前面的行）" if capped else ""))


_FORMAT = click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default=None,
                       help="默认按文件名后缀。")
_BY = click.option("--by", "by_login", required=True, help="以谁的辖区和权限导出（登录名）。")
_OUT = click.argument("out", type=click.Path(dir_okay=False, path_type=Path))


@export_group.command("cases")
@_FORMAT
@click.option("--q", default="", help="企业名称或代码。")
@click.option("--stage", default="", help="open、closed 或阶段代码。")
@click.option("--violation", default="", type=click.Choice(["", "no_union", "no_bargaining", "unpaid_funds"]))
@click.option("--place", default=None, help="辖区代码（如 110105）。")
@click.option("--supervisor", default="", help="监督员用户 id，或 me。")
@click.option("--overdue", is_flag=True)
@click.option("--provisional", is_flag=True)
@click.option("--sort", default="", type=click.Choice(["", "opened", "reference", "name", "due"]))
@click.option("--dir", "direction", default="", type=click.Choice(["", "asc", "desc"]))
@_BY
@_OUT
@with_appcontext
@one_line_errors
def export_cases(fmt, q, stage, violation, place, supervisor, overdue, provisional, sort, direction, by_login, out):
    """导出案件列表（与列表页相同的筛选与排序）。"""
    from compliance.web import listing
    from compliance.web.lists import CASE_HEADER, CASE_WIDTHS, _case_export_rows
    require_current_schema()
    actor = user_by_login(by_login)
    scope = _scope_of(actor)
    args = {"q": q, "stage": stage, "violation": violation, "place": _place_arg(place), "supervisor": supervisor,
            "overdue": "1" if overdue else "", "provisional": "1" if provisional else "", "sort": sort,
            "dir": direction}
    f = listing.CaseFilters.from_args(args, user=actor, scope=scope)
    _write(out, _fmt(fmt, out), "案件", CASE_HEADER, CASE_WIDTHS, _case_export_rows(f, scope))


@export_group.command("enterprises")
@_FORMAT
@click.option("--q", default="", help="企业名称或代码。")
@click.option("--place", default=None, help="辖区代码（如 110105）。")
@_BY
@_OUT
@with_appcontext
@one_line_errors
def export_enterprises(fmt, q, place, by_login, out):
    """导出企业列表（与列表页相同的筛选）。"""
    from compliance.web import listing
    from compliance.web.lists import ENTERPRISE_HEADER, ENTERPRISE_WIDTHS, _enterprise_export_rows
    require_current_schema()
    actor = user_by_login(by_login)
    scope = _scope_of(actor)
    f = listing.EnterpriseFilters.from_args({"q": q, "place": _place_arg(place)}, scope=scope)
    _write(out, _fmt(fmt, out), "企业", ENTERPRISE_HEADER, ENTERPRISE_WIDTHS, _enterprise_export_rows(f, scope))


@export_group.command("listing-batch")
@_FORMAT
@_BY
@_OUT
@with_appcontext
@one_line_errors
def export_listing_batch(fmt, by_login, out):
    """导出信用惩戒提请批次：已提请或已纳入信用档案的企业，按公示字段排列。"""
    from compliance.exports import LISTING_HEADER, LISTING_WIDTHS, listing_batch_rows
    require_current_schema()
    actor = user_by_login(by_login)
    scope = _scope_of(actor)
    _write(out, _fmt(fmt, out), "信用惩戒提请", LISTING_HEADER, LISTING_WIDTHS, listing_batch_rows(db.session, scope))
