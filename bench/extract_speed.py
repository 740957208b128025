"""CPU cost of clean + extract per input kind: median and p95 milliseconds per document.

Runs `tasks.clean.clean` + `tasks.extract.extract` (the real entry points, on the raw
bytes) over every document folder of the eval corpus (article.txt, page.txt,
page.html) and the sample seed, in one process, and prints per-kind timings. When
trafilatura is installed, its `extract` on page.html is timed in the same run, side by
side, since it is the reference HTML extractor the README compares against.

Each file is run `--repeat` times and its fastest run is kept (the noise on a shared
machine only ever adds time), after one untimed warm-up pass that loads the modules
and fills the regex caches, and a garbage collection before each file.

Times are CPU time of the process (`time.process_time`), so other work on a shared
machine disturbs them less than wall-clock time would. `--src DIR` times the `tasks`
package of another checkout (e.g. `git archive HEAD~3 tasks | tar -x -C /tmp/old`),
to compare before and after a change in one run of the same script.

Usage (from the repository root):
    python bench/extract_speed.py [--corpus ../shared/eval/dev] [--repeat 5] [--json]
                                  [--src DIR]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "eval" / "dev"
SAMPLE = REPO / "tests" / "fixtures" / "sample_seed.txt"
KINDS = ("article.txt", "page.txt", "page.html")


def newsdrop(path: Path) -> Callable[[], object]:
    """One clean + extract of the file, as the pipeline runs it."""
    # imported here: main() puts the chosen source tree on the path first
    from tasks.clean import clean
    from tasks.document import RawDocument
    from tasks.errors import PermanentError
    from tasks.extract import extract

    raw = RawDocument(path.read_bytes(), path.name)

    def run() -> object:
        try:
            return extract(clean(raw))
        except PermanentError as exc:  # a refusal costs what the work before it cost
            return exc

    return run


def trafilatura_run(module: object, path: Path) -> Callable[[], object]:
    """trafilatura.extract with its defaults on the page's text."""
    source = path.read_bytes().decode("utf-8", "replace")
    return lambda: module.extract(source, include_comments=False)  # type: ignore[attr-defined]


def best_ms(run: Callable[[], object], repeat: int) -> float:
    """Fastest of `repeat` runs, in milliseconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best * 1000.0


def p95(values: list[float]) -> float:
    """95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--src", type=Path, default=REPO,
                        help="directory holding the tasks package to time (default: this repo)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.src.resolve()))

    runs: list[tuple[str, str, Callable[[], object]]] = []
    for kind in KINDS:
        for path in sorted(args.corpus.glob(f"*/{kind}")):
            runs.append(("newsdrop", kind, newsdrop(path)))
    if SAMPLE.exists():
        runs.append(("newsdrop", "sample_seed.txt", newsdrop(SAMPLE)))
    notes: list[str] = []
    try:
        import trafilatura
    except ImportError:
        notes.append("trafilatura not installed: pip install -e '.[bench]'")
    else:
        for path in sorted(args.corpus.glob("*/page.html")):
            runs.append(("trafilatura", "page.html", trafilatura_run(trafilatura, path)))

    for _, _, run in runs:  # warm-up: imports, regex compilation, lru caches
        run()
    times: dict[tuple[str, str], list[float]] = {}
    for method, kind, run in runs:
        # a full collection now, not one triggered inside a timed run by garbage that
        # earlier files left behind (the bench's heap is not the worker's)
        gc.collect()
        times.setdefault((method, kind), []).append(best_ms(run, args.repeat))

    rows = [
        {"method": method, "input": kind, "n": len(ms), "median_ms": statistics.median(ms),
         "p95_ms": p95(ms), "total_ms": sum(ms)}
        for (method, kind), ms in times.items()
    ]
    if args.json:
        print(json.dumps({"rows": rows, "notes": notes}, indent=2))
        return 0
    print(f"{'method':<12} {'input':<16} {'n':>3} {'median ms':>10} {'p95 ms':>8} {'total ms':>9}")
    for r in rows:
        print(f"{r['method']:<12} {r['input']:<16} {r['n']:>3} {r['median_ms']:>10.2f} "
              f"{r['p95_ms']:>8.2f} {r['total_ms']:>9.1f}")
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
