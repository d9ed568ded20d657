"""CLI for the holiday calendar: enter next year's State Council notice, list what is known."""
from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from compliance.clock import utcnow
from compliance.db import db


def parse_holiday_lines(text: str, year: int):
    """Lines `YYYY-MM-DD,holiday|workday,name` (or 节假日/调休); blank lines and # comments skipped."""
    from workflows.calendar import DayKind, HolidayOverride
    kinds = {"holiday": DayKind.HOLIDAY, "节假日": DayKind.HOLIDAY, "休": DayKind.HOLIDAY,
             "workday": DayKind.WORKDAY, "调休": DayKind.WORKDAY, "班": DayKind.WORKDAY}
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p.strip() for p in line.replace("，", ",").split(",")]
        if len(parts) < 2:
            raise click.ClickException(f"第{number}行“{line}”应为：日期,holiday|workday,名称")
        try:
            day = dt.date.fromisoformat(parts[0])
        except ValueError:
            raise click.ClickException(f"第{number}行日期“{parts[0]}”无效（应为 YYYY-MM-DD）") from None
        if parts[1] not in kinds:
            raise click.ClickException(f"第{number}行类型“{parts[1]}”无效（holiday/节假日 或 workday/调休）")
        out.append(HolidayOverride(day=day, kind=kinds[parts[1]], name=parts[2] if len(parts) > 2 else ""))
    return out


@click.group("holidays")
def holidays_group():
    """The working-day calendar: enter a year's holidays (chinesecalendar stops at 2026)."""


@holidays_group.command("enter")
@click.argument("year", type=int)
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--source", required=True, help="The notice, e.g. 国务院办公厅关于2027年部分节假日安排的通知.")
@click.option("--by", "login", required=True, help="A city-level admin's login.")
@with_appcontext
def enter_command(year, file, source, login):
    """Enter YEAR's holidays and make-up working days from FILE; recompute provisional deadlines."""
    from compliance.cli.common import one_line_errors, require_current_schema, user_by_login
    from compliance.operations.holidays import enter_holiday_year

    @one_line_errors
    def run():
        require_current_schema()
        days = parse_holiday_lines(file.read(), year)
        actor = user_by_login(login)
        changed = enter_holiday_year(db.session, year=year, days=days, source=source, actor=actor, now=utcnow())
        db.session.commit()
        click.echo(f"已录入{year}年节假日安排 {len(days)} 天；重算暂定期限 {len(changed)} 个。")
        for d in changed:
            click.echo(f"  案件 {d.case_id} {d.label}：{d.due_on}{'（仍为暂定）' if d.is_provisional else ''}")
    run()


@holidays_group.command("status")
@with_appcontext
def status_command():
    """Which years have official data (package or entered), and how many open provisional deadlines remain."""
    from sqlalchemy import func

    from compliance.models import Deadline, HolidayYear
    from compliance.policy import load_calendar
    calendar = load_calendar(db.session)
    this_year = utcnow().year
    for year in range(this_year - 1, this_year + 3):
        entered = db.session.get(HolidayYear, year)
        known = "已录入（" + entered.source + "）" if entered else ("内置数据" if calendar.is_known_year(year) else "无官方数据：期限为暂定")
        click.echo(f"{year}年：{known}")
    pending = db.session.scalar(select(func.count(Deadline.id)).where(Deadline.status == "open",
                                                                     Deadline.is_provisional.is_(True)))
    click.echo(f"进行中的暂定期限：{pending} 个")
