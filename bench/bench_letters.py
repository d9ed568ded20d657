"""Benchmarks of the notice renderer (letters/).

Run alone: ``.venv/bin/python bench/bench_letters.py`` prints one JSON object per line.

* letters.opinion_render_ms: median of ≥ 20 renders of the one-page 监督意见书 example with the
  bundled fonts, against the naive path (same HTML, system "Noto Serif CJK SC"/"Noto Sans CJK SC"
  through fontconfig, no bundled fonts; median of 3). ratio = naive / fast.
* letters.render_peak_rss_mb: peak RSS of a fresh process rendering 50 notices.
* letters.batch_1000_per_s is left to the compliance layer (it needs the database); render_many()
  is the renderer's share of it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import letters  # noqa: E402
import importlib  # noqa: E402

render_module = importlib.import_module("letters.render")  # the module, not letters.render()

VERIFICATION = letters.Verification('7KQ2-M9XD-3F', 'https://verify.example.org/n/7KQ2M9XD3F')
NAIVE_CSS = '''
html, p, li, .addressee, .signoff, .banji, .number, .watermark
  { font-family: "Noto Serif CJK SC" !important; }
h1, .mark { font-family: "Noto Serif CJK SC" !important; font-weight: bold !important; }
h2, strong, b, table.figures th { font-family: "Noto Sans CJK SC" !important; }
h3, .kai { font-family: "AR PL UKai CN", "LXGW WenKai" !important; }
'''
GOAL_MS = 100.0
GOAL_RSS_MB = 200.0


def render_many(n: int, key: str = 'opinion', issuer_code: str = '京朝工监', year: int = 2026):
    """Render ``n`` notices with consecutive numbers; returns (pdfs, seconds)."""
    notice_type = letters.NOTICE_TYPES[key]
    facts = letters.example_facts(key)
    started = time.perf_counter()
    pdfs = [letters.render(key, facts,
                           number=letters.format_number(issuer_code, notice_type.type_code,
                                                        year, seq),
                           verification=VERIFICATION)
            for seq in range(1, n + 1)]
    return pdfs, time.perf_counter() - started


def _time_fast(runs: int) -> tuple[float, int]:
    render_many(2)  # warm-up: font configuration, parsed CSS, cmaps
    times, size = [], 0
    for seq in range(runs):
        pdfs, seconds = render_many(1)
        times.append(seconds)
        size = len(pdfs[0])
    return statistics.median(times) * 1000, size


def _time_naive(runs: int, *, fonttools: bool = False) -> tuple[float, int]:
    """The naive path. WeasyPrint subsets with HarfBuzz when Debian's libharfbuzz-subset0 is installed, else
    with fontTools (DESIGN.md measured the latter: 5.3 s); `fonttools=True` forces that path for comparison."""
    import weasyprint.pdf.fonts as pdf_fonts
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    saved = pdf_fonts.harfbuzz_subset
    if fonttools:
        pdf_fonts.harfbuzz_subset = None
    try:
        return _time_naive_runs(runs, CSS, HTML, FontConfiguration)
    finally:
        pdf_fonts.harfbuzz_subset = saved


def _harfbuzz_subset_available() -> bool:
    import weasyprint.pdf.fonts as pdf_fonts
    return bool(pdf_fonts.harfbuzz_subset)


def _time_naive_runs(runs, CSS, HTML, FontConfiguration) -> tuple[float, int]:
    markup = letters.render_html('opinion', letters.example_facts('opinion'),
                                 number='京朝工监意〔2026〕1号', verification=None)
    times, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        font_config = FontConfiguration()
        stylesheets = [CSS(filename=str(render_module.NOTICE_CSS_PATH)),
                       CSS(string=NAIVE_CSS, font_config=font_config)]
        pdf = HTML(string=markup).write_pdf(stylesheets=stylesheets, font_config=font_config)
        times.append(time.perf_counter() - started)
        size = len(pdf)
    return statistics.median(times) * 1000, size


def _naive_available() -> bool:
    try:
        out = subprocess.run(['fc-list', ':family=Noto Serif CJK SC'], capture_output=True,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(out.strip())


def render_rare() -> bytes:
    """One notice whose names need both fallback fonts (堃, 𪚥)."""
    facts = letters.example_facts('opinion')
    facts['enterprise']['legal_representative'] = '李堃'
    facts['addressee']['name'] = facts['enterprise']['name'] = '北京昇玥𪚥科技有限公司'
    return letters.render('opinion', facts, number='京朝工监意〔2026〕99号',
                          verification=VERIFICATION)


def _peak_rss_mb(renders: int = 50) -> float:
    """VmHWM of a fresh process (ru_maxrss would include the forking parent's pages)."""
    code = ('import sys; sys.path.insert(0, %r); '
            'from bench.bench_letters import render_many, render_rare; render_many(%d); '
            'render_rare(); '
            'print([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0])'
            % (str(ROOT), renders))
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True, timeout=600).stdout
    return int(out.split()[-2]) / 1024  # kB


def benchmarks() -> list[dict]:
    rss = _peak_rss_mb()
    fast_ms, fast_size = _time_fast(25)
    started = time.perf_counter()
    render_rare()  # first rare document: loads the fallback cmaps and CFF tables
    rare_first_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    render_rare()
    rare_ms = (time.perf_counter() - started) * 1000
    extra = []
    if _naive_available():
        naive_ms, naive_size = _time_naive(3, fonttools=True)
        reference, ratio = round(naive_ms, 1), round(naive_ms / fast_ms, 1)
        if _harfbuzz_subset_available():
            hb_ms, _size = _time_naive(3)
            extra.append({'bench': 'letters.opinion_render_ms.vs_harfbuzz', 'value': round(fast_ms, 1),
                          'unit': 'ms', 'reference': round(hb_ms, 1), 'ratio': round(hb_ms / fast_ms, 1),
                          'goal': 'reported: naive path when libharfbuzz-subset0 is installed'})
    else:  # fonts-noto-cjk not installed: no reference to compare with
        naive_size, reference, ratio = None, None, None
    return [
        {'bench': 'letters.opinion_render_ms', 'value': round(fast_ms, 1), 'unit': 'ms',
         'reference': reference, 'ratio': ratio, 'goal': GOAL_MS,
         'pdf_bytes': fast_size, 'reference_pdf_bytes': naive_size,
         'rare_names_ms': round(rare_ms, 1), 'rare_names_first_ms': round(rare_first_ms, 1)},
        *extra,
        {'bench': 'letters.render_peak_rss_mb', 'value': round(rss, 1), 'unit': 'MB',
         'reference': None, 'ratio': None, 'goal': GOAL_RSS_MB},
    ]


if __name__ == '__main__':
    for result in benchmarks():
        print(json.dumps(result, ensure_ascii=False))
