"""Bulk import in the browser (blueprint `imports`): upload a spreadsheet, read the dry run's report (every bad
row with its number and reason), then confirm the import in the mode chosen; download the bad rows and the
templates. Also the credit-listing batch download.

An upload is kept under a random token in the import folder (IMPORT_FOLDER, by default the instance folder's
imports/) with the uploader's id beside it. Confirming claims the file by renaming it (atomic): a second
confirmation of the same upload (a double click, a reloaded page, a second tab) finds nothing and imports
nothing. When nothing was written (all-or-nothing with a bad row, or a refusal) the claim is given back so the
user can choose the other mode; after a commit the file is deleted. Uploads older than IMPORT_KEEP_HOURS go.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import time
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from compliance import clock
from compliance.access import Permission, can, require
from compliance.db import db
from compliance.errors import DomainError, NotFound
from compliance.imports import COLUMNS, KIND_LABELS, bad_rows_file, template
from compliance.operations.imports import MODES, import_file, settings
from compliance.web.exports import XLSX_TYPE, disposition
from compliance.web.labels import tr

bp = Blueprint("imports", __name__)

#: Bad rows listed on the report page (the downloadable file holds all of them).
SHOWN = 1000
KEEP_HOURS = 24
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
_PERMISSION = {"enterprises": Permission.REGISTER_ENTERPRISE, "cases": Permission.OPEN_CASE}
ENCODINGS = {"utf-8-sig": _l("UTF-8（带BOM）"), "utf-8": "UTF-8", "gb18030": "GBK/GB 18030", "utf-16": "UTF-16"}
GONE = _l("该上传不存在、已过期或已经导入过（每次上传只能导入一次）。请重新上传文件。")


@bp.record_once
def _larger_uploads(state) -> None:
    """The import's upload may be larger than MAX_CONTENT_LENGTH (IMPORT_MAX_BYTES): say so before anything
    (the CSRF check, app-wide) reads the form."""
    state.app.before_request_funcs.setdefault(None, []).insert(0, _upload_limit)


def _upload_limit() -> None:
    if request.endpoint == "imports.upload":
        request.max_content_length = settings(current_app.config)["max_bytes"] + 64 * 1024


@bp.before_request
@login_required
def _signed_in():
    """Every page here needs a live session; each then checks its own permission."""


def _kind(raw: str | None) -> str:
    return raw if raw in COLUMNS else "enterprises"


def _need(kind: str) -> None:
    require(current_user, _PERMISSION[kind], absent="")


def _need_any() -> None:
    """403 unless the account may import something (before an upload's token is even looked at)."""
    if not any(can(current_user, p) for p in _PERMISSION.values()):
        require(current_user, Permission.REGISTER_ENTERPRISE, absent="")


def _folder(create: bool = False) -> Path:
    folder = Path(current_app.config.get("IMPORT_FOLDER") or Path(current_app.instance_path) / "imports")
    if create:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _sweep(folder: Path) -> None:
    """Forget uploads older than IMPORT_KEEP_HOURS (bounded: at most 1,000 files looked at)."""
    limit = time.time() - float(current_app.config.get("IMPORT_KEEP_HOURS") or KEEP_HOURS) * 3600
    for n, path in enumerate(folder.iterdir()):
        if n >= 1000:
            break
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass


def _meta_path(token: str) -> Path:
    return _folder() / f"{token}.json"


def _load(token: str | None) -> dict:
    """The upload's record, only for its uploader; anything else is the same 404."""
    if not token or not _TOKEN.fullmatch(token):
        raise NotFound(str(GONE))
    try:
        meta = json.loads(_meta_path(token).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise NotFound(str(GONE)) from None
    if meta.get("user_id") != current_user.id:
        raise NotFound(str(GONE))
    return meta


def _save_meta(token: str, meta: dict) -> None:
    path = _meta_path(token)
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _save_bad_rows(token: str, report, meta: dict) -> None:
    if not report.bad:
        meta.pop("bad_rows", None)
        return
    content, name, mimetype = bad_rows_file(report)
    (_folder() / f"{token}.bad").write_bytes(content)
    meta["bad_rows"] = {"name": name, "type": mimetype}


def _page(kind: str, *, error: str | None = None, status: int = 200, **context):
    limits = settings(current_app.config)
    return render_template("imports/index.html", kind=kind, kinds={k: tr(v) for k, v in KIND_LABELS.items()},
                           modes={k: tr(v) for k, v in MODES.items()}, error=error,
                           encodings=ENCODINGS,
                           columns=COLUMNS[kind], max_mb=limits["max_bytes"] // (1024 * 1024),
                           max_rows=limits["max_rows"], shown=SHOWN, **context), status


@bp.route("/imports", methods=["GET"])
def index():
    """The upload form, with the template's columns for the kind chosen."""
    kind = _kind(request.args.get("kind"))
    _need(kind)
    return _page(kind)


@bp.route("/imports", methods=["POST"])
def upload():
    """Keep the upload under a token and answer the dry run's report with a confirmation form."""
    kind = _kind(request.args.get("kind") or request.form.get("kind"))
    _need(kind)
    limits = settings(current_app.config)
    try:
        upload = request.files.get("file")
        mode = request.form.get("mode", "all-or-nothing")
    except RequestEntityTooLarge:
        return _page(kind, error=_("文件过大：上传上限为 %(mb)s MB，请分成几个文件导入",
                                   mb=limits["max_bytes"] // (1024 * 1024)), status=413)
    if upload is None or not upload.filename:
        return _page(kind, error=_("请选择要导入的 .xlsx 或 .csv 文件"), status=422)
    data = upload.read(limits["max_bytes"] + 1)
    filename = os.path.basename(upload.filename.replace("\\", "/"))[:200]
    mode = mode if mode in MODES else "all-or-nothing"
    try:
        report = import_file(db.session, actor=current_user, kind=kind, data=data, filename=filename, mode=mode,
                             dry_run=True, now=clock.utcnow(), **limits)
    except DomainError as exc:
        db.session.rollback()
        return _page(kind, error=exc.message, status=exc.status)
    db.session.rollback()   # a dry run writes nothing; end its transaction before the files are written
    folder = _folder(create=True)
    _sweep(folder)
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.upload").write_bytes(data)
    meta = {"user_id": current_user.id, "kind": kind, "filename": filename, "mode": mode,
            "sha256": report.sha256, "uploaded_at": clock.utcnow().isoformat()}
    _save_bad_rows(token, report, meta)
    _save_meta(token, meta)
    return _page(kind, report=report, token=token, meta_token=token, meta=meta)


@bp.route("/imports/confirm", methods=["POST"])
def confirm():
    """Import an upload already checked, once: the file is claimed by renaming it before anything is read."""
    _need_any()
    token = request.form.get("token", "")[:64]
    meta = _load(token)
    kind = meta["kind"]
    _need(kind)
    mode = request.form.get("mode", meta.get("mode", "all-or-nothing"))
    mode = mode if mode in MODES else "all-or-nothing"
    folder = _folder()
    source, claimed = folder / f"{token}.upload", folder / f"{token}.claimed"
    try:
        os.rename(source, claimed)
    except OSError:
        raise NotFound(str(GONE)) from None
    written = False
    try:
        data = claimed.read_bytes()
        try:
            report = import_file(db.session, actor=current_user, kind=kind, data=data, filename=meta["filename"],
                                 mode=mode, dry_run=False, now=clock.utcnow(), address=request.remote_addr or "",
                                 **settings(current_app.config))
        except DomainError as exc:
            db.session.rollback()
            return _page(kind, error=exc.message, status=exc.status, token=token, meta=meta)
        if report.imported:
            db.session.commit()
            written = True
        else:
            db.session.rollback()
    finally:
        if written:
            claimed.unlink(missing_ok=True)
        else:
            os.replace(claimed, source)   # nothing was written: the upload may be imported in the other mode
    meta["mode"] = mode
    _save_bad_rows(token, report, meta)
    if written:
        meta["imported"] = report.imported
    _save_meta(token, meta)
    return _page(kind, report=report, token=None if written else token, meta_token=token, meta=meta,
                 done=written)


@bp.route("/imports/bad-rows")
def bad_rows():
    """The bad rows of the upload's latest report, in its own format with a 错误原因 column."""
    _need_any()
    token = request.args.get("token", "")[:64]
    meta = _load(token)
    _need(meta["kind"])
    info = meta.get("bad_rows")
    path = _folder() / f"{token}.bad"
    if not info or not path.exists():
        raise NotFound(_("该上传没有有误的行"))
    return Response(path.read_bytes(), mimetype=info["type"].split(";")[0],
                    headers={"Content-Disposition": disposition(info["name"]), "Content-Type": info["type"]})


@bp.route("/imports/template")
def template_file():
    """The import template of a kind, as .xlsx (with a sheet explaining the columns) or .csv."""
    kind = _kind(request.args.get("kind"))
    _need(kind)
    fmt = "csv" if request.args.get("format") == "csv" else "xlsx"
    name = f"{KIND_LABELS[kind]}导入模板.{fmt}"
    return Response(template(kind, fmt), mimetype=XLSX_TYPE if fmt == "xlsx" else "text/csv",
                    headers={"Content-Disposition": disposition(name)})


@bp.route("/exports/listing-batch.xlsx", defaults={"fmt": "xlsx"})
@bp.route("/exports/listing-batch.csv", defaults={"fmt": "csv"})
def listing_batch(fmt: str):
    """The credit-listing request batch of the user's scope in the published fields' layout."""
    if not can(current_user, Permission.VIEW):
        abort(403)
    from compliance.exports import LISTING_HEADER, LISTING_WIDTHS, listing_batch_rows
    from compliance.scoping import Scope
    from compliance.web.exports import csv_response, xlsx_response
    scope = Scope.of(db.session, current_user)
    rows = listing_batch_rows(db.session, scope)
    filename = f"信用惩戒提请批次-{clock.business_date(clock.utcnow()).isoformat()}.{fmt}"
    if fmt == "csv":
        return csv_response(filename, LISTING_HEADER, rows)
    return xlsx_response(filename, "信用惩戒提请", LISTING_HEADER, rows, widths=LISTING_WIDTHS)
