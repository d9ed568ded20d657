"""The archive's commands: `documents check` (monitoring), `backup DEST`, `restore SRC`, `db grant`."""
from __future__ import annotations

import datetime as dt
import json

import click
from flask import current_app
from flask.cli import with_appcontext

from compliance.db import db


@click.group("documents")
def documents_group():
    """The document store (issued notices' PDFs, evidence)."""


def _print_report(report, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    for line in report.quarantined:
        click.echo(f"已隔离：{line}")
    for line in report.restored:
        click.echo(f"已从隔离区找回：{line}")
    for problem in report.problems:
        click.echo(problem.line())
    if report.pending:
        click.echo(f"另有 {len(report.pending)} 个新写入、尚未被引用的文件（未满观察期，不算问题）")
    click.echo(report.summary())


@documents_group.command("check")
@click.option("--repair", is_flag=True,
              help="Do what is safe: move orphan files to quarantine/ under the store, copy a missing file back "
                   "from the quarantine when its hash matches. Never deletes or changes a referenced file.")
@click.option("--grace-minutes", type=click.IntRange(0, 7 * 24 * 60), default=60, show_default=True,
              help="Unreferenced files younger than this are in flight, not orphans.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_appcontext
def documents_check(repair, grace_minutes, as_json):
    """Check that every stored document is present and whole, no file is unreferenced, and every issued notice
    has exactly one document. Exit status 1 with the list when anything is wrong (for monitoring)."""
    from compliance.archive_check import check_documents
    from compliance.cli.common import require_current_schema
    from compliance.documents import document_store
    from compliance.db import reading_engine
    require_current_schema()
    db.session.remove()   # let go of the schema check's transaction (on SQLite: the write lock)
    engine = reading_engine(current_app.config["DATABASE_URL"])
    try:
        report = check_documents(engine, document_store(), repair=repair,
                                 grace=dt.timedelta(minutes=grace_minutes))
    finally:
        engine.dispose()
    _print_report(report, as_json)
    if not report.ok:
        raise SystemExit(1)


@click.command("backup")
@click.argument("dest", type=click.Path(dir_okay=False))
@click.option("--wait-seconds", type=click.FloatRange(0, 600), default=10, show_default=True,
              help="How long to wait for a referenced document that is being published.")
@with_appcontext
def backup_command(dest, wait_seconds):
    """Back up the database and the document store into one archive file DEST (while the service runs)."""
    from compliance.backup import BackupFailed, backup
    # No schema check through the service's session: on SQLite its every transaction takes the write lock, and a
    # busy writer could keep the backup waiting. The backup reads one snapshot only (and records its revision: a
    # restore migrates an older one).
    db.session.remove()
    try:
        manifest = backup(current_app.config["DATABASE_URL"], current_app.config["DOCUMENT_STORE"], dest,
                          pg_bin_dir=current_app.config.get("PG_BIN_DIR"), missing_wait=wait_seconds)
    except BackupFailed as exc:
        raise click.ClickException(str(exc)) from None
    counts = manifest["counts"]
    click.echo(f"已备份到 {dest}：案件 {counts['cases']} 件，已签发文书 {counts['notices_issued']} 份，"
               f"文件 {len(manifest['documents'])} 个（数据库结构 {manifest['migration_revision']}）。")


@click.command("restore")
@click.argument("src", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def restore_command(src):
    """Restore a backup into an EMPTY database and an EMPTY document store, then check the documents.

    PostgreSQL: the schema is restored as COMPLIANCE_MIGRATION_DATABASE_URL's role (the owner) and the
    application role (COMPLIANCE_DATABASE_URL's) gets its rights."""
    from compliance.backup import BackupFailed, restore
    from compliance.cli.common import migration_url
    db.session.remove()
    try:
        result = restore(src, current_app.config["DATABASE_URL"], current_app.config["DOCUMENT_STORE"],
                         owner_url=migration_url(), pg_bin_dir=current_app.config.get("PG_BIN_DIR"))
    except BackupFailed as exc:
        raise click.ClickException(str(exc)) from None
    m = result.manifest
    click.echo(f"已从 {src} 恢复（备份时间 {m['created_at']}，文件 {len(m['documents'])} 个）"
               + (f"，数据库结构已从 {result.upgraded_from} 升级" if result.upgraded_from else "") + "。")
    _print_report(result.report, False)
    if not result.report.ok:
        raise SystemExit(1)


@click.command("grant")
@with_appcontext
def db_grant():
    """PostgreSQL: give the application role (COMPLIANCE_DATABASE_URL's) exactly its rights on every table, as
    the owner (COMPLIANCE_MIGRATION_DATABASE_URL). `db upgrade` does this by itself."""
    from compliance.cli.common import apply_role_grants
    statements = apply_role_grants()
    if statements is None:
        click.echo("无需授权：SQLite，或服务与迁移使用同一数据库账号（见 docs/deploy.md）。")
    else:
        click.echo(f"已为应用角色授权（{len(statements)} 条语句）。")
