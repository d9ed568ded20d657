"""The spreadsheets people upload for a bulk import: read an XLSX or CSV file into numbered rows of cells under
known column names, write the rows that were refused back in the same format, and the template files.

What spreadsheets from Chinese offices look like, and what is read here:

- CSV in UTF-8 with or without a byte-order mark, or in GBK as Excel in China saves it ("CSV (逗号分隔)"); GB 18030
  is read for GBK (a superset). A UTF-16 file (Excel's "Unicode 文本", tab-separated) too. Comma or tab.
- XLSX (not the old binary .xls): the first worksheet, read by calamine.
- A title row or two above the header ("2026年朝阳区企业名单", merged across the columns), and two-row headers
  whose upper cells are merged over several columns ("企业基本信息") or down over both rows ("企业名称"): the
  header is the row among the first HEADER_SCAN that names the most known columns, and a column it leaves empty
  takes the known name in the row above (a cell merged downwards keeps its text in the upper row).
- Headings written a little differently: spaces, a * or （必填） for required columns, a unit in brackets, and
  common other names (单位名称 for 企业名称, 法人代表 for 法定代表人 …). Unknown columns are ignored and reported.
- Blank rows are skipped; row numbers are the file's own (what the user sees at the left of Excel).

Nothing here touches the database: compliance.operations.imports validates the rows and writes them.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import logging
import re
import zipfile
from dataclasses import dataclass, field
from typing import IO, Any, Iterator, NamedTuple

from compliance.errors import ValidationFailed

log = logging.getLogger(__name__)

#: Largest file accepted (bytes); the app's IMPORT_MAX_BYTES overrides it.
MAX_BYTES = 50 * 1024 * 1024
#: Most data rows in one file; the app's IMPORT_MAX_ROWS overrides it.
MAX_ROWS = 100_000
#: Longest cell read (characters); a longer one makes its row bad (no column holds more).
MAX_CELL = 2000
#: Columns read per row; anything to the right is ignored.
MAX_COLUMNS = 60
#: A heading is read up to this many characters.
MAX_HEADING = 100
#: The header is looked for in the first rows only.
HEADER_SCAN = 20
#: An XLSX whose parts unpack to more than this is refused before reading (a "zip bomb").
MAX_UNPACKED = 800 * 1024 * 1024


class Column(NamedTuple):
    key: str
    heading: str                  #: as the template writes it
    aliases: tuple[str, ...]      #: other headings read as this column (normalised form)
    required: bool = False
    example: str = ""
    help: str = ""


ENTERPRISE_COLUMNS = (
    Column("uscc", "统一社会信用代码", ("统一社会信用代码", "社会信用代码", "信用代码", "统一代码", "注册号",
                                  "统一社会信用代码/注册号", "统一社会信用代码或注册号", "工商注册号"),
           True, "91110105MA01R2XK3T", "18位统一社会信用代码，或2015年以前的15位注册号"),
    Column("name", "企业名称", ("企业名称", "单位名称", "名称", "企业全称", "单位全称"), True,
           "北京示例科技有限公司", "与营业执照一致，最多100字"),
    Column("district", "所在区", ("所在区", "区", "所属区", "区县", "所在区县", "所属区县", "行政区", "辖区"), True,
           "朝阳区", "北京市的区，如“朝阳区”或“朝阳”；北京经济技术开发区可写“经开区”"),
    Column("street", "街道/乡镇", ("街道/乡镇", "街道乡镇", "街道", "乡镇", "街乡", "所属街道", "所在街道",
                                "街道(乡镇)", "所属街乡", "街道/地区"), False,
           "酒仙桥街道", "该区下已设立的街道或乡镇；留空则登记在区级"),
    Column("address", "地址", ("地址", "企业住所", "住所", "注册地址", "经营地址", "企业地址", "单位地址"), False,
           "北京市朝阳区酒仙桥路10号", "最多200字"),
    Column("legal_representative", "法定代表人", ("法定代表人", "法人代表", "法人", "负责人", "法定代表人姓名"),
           False, "陈建国", "最多50字"),
    Column("employee_count", "职工人数", ("职工人数", "职工数", "员工人数", "从业人数", "用工人数", "职工总数"), False,
           "120", "整数"),
    Column("member_count", "工会会员人数", ("工会会员人数", "会员人数", "工会会员数"), False, "", "整数，不多于职工人数"),
    Column("has_union", "已建会", ("已建会", "是否建会", "已建工会", "是否建立工会", "建会情况"), False, "否",
           "是/否，留空为否"),
    Column("monthly_payroll", "上月工资总额", ("上月工资总额", "工资总额", "月工资总额", "上月工资总额元"), False,
           "523000.00", "以元为单位，最多两位小数"),
    Column("industry", "所属行业", ("所属行业", "行业"), False, "软件和信息技术服务业", "最多100字"),
    Column("ownership_type", "经济类型", ("经济类型", "企业类型", "登记注册类型", "所有制类型"), False,
           "有限责任公司", "最多50字"),
    Column("established_on", "成立日期", ("成立日期", "成立时间", "注册日期"), False, "2015-03-01",
           "年-月-日，或Excel日期"),
    Column("contact_name", "联系人", ("联系人", "联系人姓名"), False, "", "最多50字"),
    Column("contact_phone", "联系电话", ("联系电话", "电话", "联系方式", "手机"), False, "", "最多50字"),
)

CASE_COLUMNS = (
    Column("uscc", "统一社会信用代码", ENTERPRISE_COLUMNS[0].aliases, True, "91110105MA01R2XK3T",
           "已登记企业的统一社会信用代码或15位注册号"),
    Column("name", "企业名称", ENTERPRISE_COLUMNS[1].aliases, False, "北京示例科技有限公司",
           "仅供阅读核对，以代码为准"),
    Column("violations", "违法情形", ("违法情形", "违法行为", "违法类型", "案由"), True, "不建会、不缴费",
           "不建会、不协商、不缴费，多项用顿号分隔"),
    Column("opened_on", "立案日期", ("立案日期", "立案时间"), False, "2026-11-20", "年-月-日，不晚于今天；留空为今天"),
    Column("summary", "案情摘要", ("案情摘要", "摘要", "案情", "备注"), False, "职工120人，至今未建立工会", "最多2000字"),
    Column("supervisors", "承办监督员", ("承办监督员", "承办人", "监督员"), False, "",
           "登录名或监督员证号，多人用顿号分隔；留空为不指派"),
)

COLUMNS = {"enterprises": ENTERPRISE_COLUMNS, "cases": CASE_COLUMNS}
KIND_LABELS = {"enterprises": "企业", "cases": "案件"}
#: Extra columns of a returned bad-rows file: never read as data when the file is uploaded again.
REASON_HEADING = "错误原因"
ROW_HEADING = "原行号"

_NOISE = re.compile(r"[\s\u3000*＊:：]+")
_BRACKETED = re.compile(r"[（(][^）)]*[）)]")


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def normalise_heading(text: Any) -> str:
    """A heading without spaces, stars, colons, and bracketed remarks such as （必填） or （元）."""
    value = _NOISE.sub("", _cell_text(text))
    stripped = _BRACKETED.sub("", value)
    return stripped or value


def _alias_map(columns) -> dict[str, str]:
    out: dict[str, str] = {}
    for column in columns:
        for alias in (column.heading, *column.aliases):
            out.setdefault(normalise_heading(alias), column.key)
            out.setdefault(_NOISE.sub("", alias), column.key)   # "街道(乡镇)" with its brackets
    return out


_ALIASES = {kind: _alias_map(columns) for kind, columns in COLUMNS.items()}


@dataclass
class Sheet:
    """A file read: where its header was, which column holds which field, and the data rows."""

    format: str                       #: "xlsx" or "csv"
    encoding: str | None              #: the CSV's encoding as read ("utf-8-sig", "utf-8", "gb18030", "utf-16")
    delimiter: str
    header_row: int                   #: 1-based row of the header
    header: list[str]                 #: the header's texts as shown (a merged upper heading filled in)
    columns: dict[str, int]           #: field key → 0-based column index
    ignored: list[str]                #: header texts not recognised
    estimated_rows: int | None        #: for a progress bar (may be None or approximate)
    rows: Iterator[tuple[int, list[Any]]] = field(repr=False)   #: (row number, cells), blank rows skipped


def sniff_format(data: bytes) -> str:
    """"xlsx" or "csv" from the content (a name can lie); an old .xls or anything binary is refused."""
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ValidationFailed("这是旧版 Excel（.xls）文件，请在 Excel 中“另存为” .xlsx 或 CSV 后再上传", field="file")
    if data[:5] == b"%PDF-" or data[:4] in (b"\x89PNG", b"Rar!") or data[:3] == b"\xff\xd8\xff":
        raise ValidationFailed("只能导入 .xlsx 或 .csv 表格文件", field="file")
    return "csv"


def read_sheet(data: bytes, kind: str, *, filename: str = "", max_rows: int = MAX_ROWS,
               max_bytes: int = MAX_BYTES) -> Sheet:
    """Read an uploaded file; raise ValidationFailed (in Chinese) for a file that cannot be a table of `kind`.

    The rows are read lazily; a row the reader cannot decode comes out as a row of one ReadError cell, so the
    operation reports it and goes on.
    """
    if kind not in COLUMNS:
        raise ValidationFailed("导入类型只能是企业或案件", field="kind")
    if not data:
        raise ValidationFailed("上传的文件是空的", field="file")
    if len(data) > max_bytes:
        raise ValidationFailed(f"文件过大：上限为 {max_bytes // (1024 * 1024)} MB（本文件 "
                               f"{len(data) / (1024 * 1024):.1f} MB），请分成几个文件导入", field="file")
    fmt = sniff_format(data)
    if fmt == "xlsx":
        raw_rows, estimate, encoding, delimiter = _xlsx_rows(data, max_rows), None, None, ""
        estimate = getattr(raw_rows, "estimate", None)
    else:
        text, encoding = decode_text(data)
        delimiter = _delimiter(text)
        raw_rows, estimate = _csv_rows(text, delimiter), text.count("\n") + 1
    return _with_header(raw_rows, kind, fmt, encoding, delimiter, estimate, max_rows)


# ----------------------------------------------------------------------------------------------------- CSV

def decode_text(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was read in: a BOM decides; else UTF-8 if it decodes, else GB 18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ("utf-8-sig",)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8", "gb18030")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise ValidationFailed("文件含有空字符，不是文本表格：请上传 .xlsx，或在 Excel 中另存为 CSV", field="file")
        return text, encoding
    raise ValidationFailed("无法识别文件的文字编码：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后再上传",
                           field="file")


def _delimiter(text: str) -> str:
    first = next((line for line in text[:20000].splitlines() if line.strip()), "")
    return "\t" if first.count("\t") > first.count(",") else ","


class ReadError(str):
    """A cell standing for a row the reader could not read; its text is the reason."""


def _csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    while True:
        number += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:   # e.g. a field longer than the csv module's limit: that row only
            yield number, [ReadError(f"第{number}行无法解析（单元格内容过长，或引号不配对）")]
            continue
        yield number, row


# ---------------------------------------------------------------------------------------------------- XLSX

class _Rows:
    """An iterator with an estimate of its length."""

    def __init__(self, rows: Iterator, estimate: int | None):
        self._rows, self.estimate = rows, estimate

    def __iter__(self):
        return self._rows

    def __next__(self):
        return next(self._rows)


def _xlsx_rows(data: bytes, max_rows: int = MAX_ROWS) -> _Rows:
    """The first worksheet's rows from A1, read by calamine (Rust; ~10× openpyxl's read-only mode on 100,000
    rows). Empty cells come as None; date cells as dates; numbers as int or float."""
    from python_calamine import CalamineWorkbook
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ValidationFailed("文件已损坏，或不是 .xlsx 表格", field="file") from None
    if unpacked > MAX_UNPACKED:
        raise ValidationFailed("表格解压后过大，请分成几个文件导入", field="file")
    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
        # Blank rows are skipped and not counted: allow as many again before refusing to read on.
        height = sheet.total_height
        if height > 2 * max_rows + HEADER_SCAN:
            raise ValidationFailed(f"数据超过{max_rows:,}行的上限，请分成几个文件导入", field="file")
        grid = sheet.to_python(skip_empty_area=False)
    except ValidationFailed:
        raise
    except Exception as exc:   # calamine's errors for a broken or encrypted workbook
        log.info("xlsx unreadable: %r", exc)
        raise ValidationFailed("无法读取该 .xlsx 文件（已损坏、有密码保护，或不是 Excel 工作簿）", field="file") from None

    def rows():
        for number, row in enumerate(grid, start=1):
            yield number, [None if v == "" else v for v in row[:MAX_COLUMNS]]
    return _Rows(rows(), len(grid))


# -------------------------------------------------------------------------------------------------- header

def _blank(row: list[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def _with_header(raw_rows, kind: str, fmt: str, encoding: str | None, delimiter: str, estimate: int | None,
                 max_rows: int) -> Sheet:
    aliases = _ALIASES[kind]
    iterator = iter(raw_rows)
    head: list[tuple[int, list[Any]]] = []
    for number, row in iterator:
        head.append((number, row))
        if len(head) >= HEADER_SCAN:
            break

    def known(row):
        return {i: aliases[h] for i, cell in enumerate(row[:MAX_COLUMNS])
                if not isinstance(cell, ReadError) and (h := normalise_heading(cell)) in aliases}

    best, best_index, best_known = -1, None, {}
    for index, (_number, row) in enumerate(head):
        found = known(row)
        score = len(set(found.values()))
        if score > best:
            best, best_index, best_known = score, index, found
    required = [c for c in COLUMNS[kind] if c.required]
    if best_index is None or best < 1:
        names = "、".join(c.heading for c in required)
        raise ValidationFailed(f"找不到表头：前{HEADER_SCAN}行中没有{KIND_LABELS[kind]}导入模板的列名（至少须有"
                               f"{names}）。请下载模板对照填写", field="file")
    header_number, header_cells = head[best_index]
    header = [_cell_text(c)[:MAX_HEADING] for c in header_cells[:MAX_COLUMNS]]
    found = dict(best_known)
    # Two-row headers: a column the header row leaves empty (or names with a group heading merged across) takes
    # the known name just above it (merged down) …
    for above in range(best_index - 1, max(best_index - 3, -1), -1):
        for i, key in known(head[above][1]).items():
            if key not in found.values() and i not in found:
                found[i] = key
                while len(header) <= i:
                    header.append("")
                header[i] = _cell_text(head[above][1][i])[:MAX_HEADING]
    data_from = best_index + 1
    # … or, when the upper row was chosen (most names merged down), the known name just below it.
    if data_from < len(head):
        below = {i: key for i, key in known(head[data_from][1]).items()
                 if key not in found.values() and i not in found}
        if below:
            for i, key in below.items():
                found[i] = key
                while len(header) <= i:
                    header.append("")
                header[i] = _cell_text(head[data_from][1][i])[:MAX_HEADING]
            data_from += 1
    by_key: dict[str, int] = {}
    for i in sorted(found):
        by_key.setdefault(found[i], i)   # the leftmost of two columns with the same meaning
    missing = [c.heading for c in required if c.key not in by_key]
    if missing:
        raise ValidationFailed(f"表头（第{header_number}行）缺少必填列：{'、'.join(missing)}。请下载模板对照填写",
                               field="file")
    ignored = [h for i, h in enumerate(header) if h and i not in found and i not in by_key.values()
               and normalise_heading(h) not in (REASON_HEADING, ROW_HEADING)]

    def data_rows():
        count = 0
        for number, row in itertools.chain(head[data_from:], iterator):
            if _blank(row):
                continue
            count += 1
            if count > max_rows:
                raise ValidationFailed(f"数据超过{max_rows:,}行的上限，请分成几个文件导入", field="file")
            yield number, row

    if estimate is not None:
        estimate = max(estimate - header_number, 0)
    return Sheet(format=fmt, encoding=encoding, delimiter=delimiter, header_row=header_number, header=header,
                 columns=by_key, ignored=ignored, estimated_rows=estimate, rows=data_rows())


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# ------------------------------------------------------------------------------------------- cell values

def cell_str(value: Any) -> str:
    """A cell as text: numbers without a trailing .0, dates as YYYY-MM-DD, spaces trimmed."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return _cell_text(value)


_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def parse_date(value: Any, label: str, field: str) -> dt.date | None:
    """A date from a cell: a date cell, an Excel serial number (also as text), or text such as 2015-03-01,
    2015/3/1, 2015.3.1, 2015年3月1日 or 20150301 (with a time after it, ignored)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    message = f"{label}无法识别：“{_short(cell_str(value), 30)}”，请写成 2015-03-01 的形式"
    if isinstance(value, bool):
        raise ValidationFailed(message, field=field)
    if isinstance(value, (int, float)):
        serial = value
    else:
        text = str(value).strip()
        if not text:
            return None
        match = _DATE.match(text)
        if match:
            try:
                return dt.date(*map(int, match.groups()))
            except ValueError:
                raise ValidationFailed(message, field=field) from None
        if len(text) == 8 and text.isdigit():
            try:
                return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
            except ValueError:
                raise ValidationFailed(message, field=field) from None
        try:
            serial = float(text)
        except ValueError:
            raise ValidationFailed(message, field=field) from None
    # Excel's serial day numbers: 1 = 1900-01-01 (counting Excel's phantom 1900-02-29), 2958465 = 9999-12-31.
    if not 1 <= serial <= 2958465 or serial != serial:
        raise ValidationFailed(message, field=field)
    return _EXCEL_EPOCH + dt.timedelta(days=int(serial))


# ------------------------------------------------------------------------------------- files written back

def _safe(value: Any) -> Any:
    from compliance.exports import safe_cell
    return safe_cell(value)


def write_rows(out: IO[bytes], fmt: str, header: list[str], rows, *, encoding: str | None = None,
               sheet: str = "Sheet1", widths: list[int] | None = None) -> None:
    """Rows to a binary file as XLSX or CSV (in `encoding`, UTF-8 with a BOM by default), formula-safe."""
    if fmt == "xlsx":
        from compliance.exports import write_xlsx
        write_xlsx(out, sheet, header, rows, widths=widths)
        return
    encoding = encoding or "utf-8-sig"
    if encoding == "utf-8":
        encoding = "utf-8-sig"   # Excel reads UTF-8 Chinese only with the mark
    text = io.TextIOWrapper(out, encoding=encoding, errors="replace", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell_str(_safe(v)) for v in row])
    text.flush()
    text.detach()


def template(kind: str, fmt: str) -> bytes:
    """The template for `kind`: the headings (required ones marked *), one example row, and in the XLSX a second
    sheet explaining every column."""
    columns = COLUMNS[kind]
    header = [c.heading + ("*" if c.required else "") for c in columns]
    example = [c.example for c in columns]
    out = io.BytesIO()
    if fmt == "csv":
        write_rows(out, "csv", header, [example])
        return out.getvalue()
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    workbook = Workbook()
    ws = workbook.active
    ws.title = f"{KIND_LABELS[kind]}导入"
    ws.append(header)
    ws.append(example)
    for i, column in enumerate(columns, start=1):
        ws.cell(row=1, column=i).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(i)].width = max(12, len(column.heading) * 2 + 4)
        ws.cell(row=2, column=i).number_format = "@"   # text: a code or number is kept as typed
    ws.freeze_panes = "A2"
    notes = workbook.create_sheet("填写说明")
    notes.append(["列名", "必填", "说明"])
    for column in columns:
        notes.append([column.heading, "是" if column.required else "", column.help])
    notes.append([])
    notes.append(["第一个工作表第一行为表头，示例行请删除后填写；列的顺序不限，未知的列会被忽略。"])
    notes.column_dimensions["A"].width, notes.column_dimensions["C"].width = 18, 60
    workbook.save(out)
    return out.getvalue()


def bad_rows_file(report) -> tuple[bytes, str, str]:
    """The refused rows of an import report as a file in the uploaded format (a CSV in the uploaded encoding),
    with the reason and the original row number beside each: (content, file name, MIME type). Fixed and
    uploaded again, the two added columns are ignored."""
    width = len(report.header)
    header = [*report.header, REASON_HEADING, ROW_HEADING]
    rows = ([*(list(b.cells[:width]) + [None] * (width - len(b.cells)))[:width], b.reason, b.row]
            for b in report.bad)
    stem = re.sub(r"\.(xlsx|csv|txt)$", "", report.filename or "导入", flags=re.IGNORECASE)[:80] or "导入"
    out = io.BytesIO()
    if report.format == "xlsx":
        write_rows(out, "xlsx", header, rows, sheet="有误的行")
        return out.getvalue(), f"{stem}-有误的行.xlsx", XLSX_TYPE
    write_rows(out, "csv", header, rows, encoding=report.encoding)
    charset = "gb18030" if report.encoding == "gb18030" else "utf-8"
    return out.getvalue(), f"{stem}-有误的行.csv", f"text/csv; charset={charset}"


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
