"""Run the benchmarks; print a table and one JSON line per figure."""
from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path


def discover():
    """Modules bench/bench_*.py exposing BENCHMARKS: {name: callable() -> dict}."""
    here = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda i: i.name):
        if info.name.startswith("bench_"):
            yield importlib.import_module(f"bench.{info.name}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", default="", help="run only benchmarks whose name starts with this")
    args = parser.parse_args(argv)
    results = []
    for module in discover():
        groups = getattr(module, "BENCHMARKS", None)
        if groups is None:   # a module with one benchmarks() function: its figures share the module's prefix
            groups = {module.__name__.removeprefix("bench.bench_") + ".": module.benchmarks}
        for name, func in groups.items():
            if not (name.startswith(args.only) or args.only.startswith(name)):
                continue
            started = time.perf_counter()
            print(f"… {name}", file=sys.stderr, flush=True)
            for figure in func():
                if not figure["bench"].startswith(args.only):
                    continue
                results.append(figure)
                print(json.dumps(figure, ensure_ascii=False), flush=True)
            print(f"  ({time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
    if not results:
        print(f"no benchmark name starts with {args.only!r}", file=sys.stderr)
        return 1
    print()
    print(f"{'benchmark':<36} {'value':>12} {'reference':>12} {'ratio':>8}  unit / goal")
    for r in results:
        ref = "" if r.get("reference") is None else f"{r['reference']:.4g}"
        ratio = "" if r.get("ratio") is None else f"{r['ratio']:.3g}"
        print(f"{r['bench']:<36} {r['value']:>12.4g} {ref:>12} {ratio:>8}  {r['unit']} / {r.get('goal', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
