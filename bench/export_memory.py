"""Peak memory of `newsdrop export` against the number of articles: it should stay flat.

Makes temporary SQLite databases holding N articles each (bulk inserts of realistic
~4 KB bodies, through the real schema and its FTS triggers), runs
`newsdrop export --format jsonl -o FILE` on each in a child process, and prints the
child's peak RSS (ru_maxrss from wait4). A run on an empty database gives the baseline
(the interpreter plus newsdrop's imports).

    .venv/bin/python bench/export_memory.py                 # 1,000 and 10,000 articles
    .venv/bin/python bench/export_memory.py --sizes 1000 10000 100000 --format csv
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import insert  # noqa: E402

from db import migrate  # noqa: E402
from db.engine import make_engine  # noqa: E402
from db.models import Article, Document  # noqa: E402

WORDS = ["harbour", "council", "strike", "budget", "minister", "election", "weather",
         "market", "river", "school", "police", "report", "hospital", "train", "festival",
         "court", "museum", "energy", "price", "water"]


def _paragraph(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 90))).capitalize() + "."


def make_database(path: Path, n: int, *, batch: int = 2000, seed: int = 1) -> None:
    """A migrated SQLite database at `path` with `n` done documents and their articles."""
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for start in range(0, n, batch):
            ids = range(start + 1, min(n, start + batch) + 1)
            conn.execute(insert(Document), [
                {"id": i, "sha256": f"{i:064x}", "source_path": f"inbox/{i}.txt",
                 "size_bytes": 4000, "status": "done", "stage": "persist",
                 "stage_state": "succeeded", "attempts": 1, "received_at": now,
                 "updated_at": now, "finished_at": now} for i in ids])
            rows = []
            for i in ids:
                paragraphs = [_paragraph(rng) for _ in range(rng.randint(4, 9))]
                rows.append({
                    "id": i, "document_id": i, "title": f"Article {i}: {rng.choice(WORDS)}",
                    "subtitle": None, "authors": ["A. Writer"],
                    "published_at": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
                    "updated_at": None, "body": "\n\n".join(paragraphs),
                    "paragraphs": paragraphs, "related": [], "language": "en",
                    "word_count": sum(len(p.split()) for p in paragraphs), "tags": [],
                    "site_name": "Bench Times", "extractor_version": "bench",
                    "created_at": now, "modified_at": now})
            conn.execute(insert(Article), rows)
    engine.dispose()


def peak_rss_kib(db: Path, out: Path, fmt: str) -> tuple[int, float]:
    """Run the export in a child process; return its peak RSS (KiB) and wall time."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDROP_")}
    env["PYTHONPATH"] = str(REPO)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "worker", "--database-url", f"sqlite:///{db}",
         "--data-dir", str(db.parent), "--log-level", "WARNING",
         "export", "--format", fmt, "-o", str(out)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"export failed ({proc.returncode}): {proc.stderr.read().decode()}")
    return usage.ru_maxrss, elapsed  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nd-export-bench-") as tmp:
        print(f"{'articles':>9}  {'db MiB':>7}  {'output MiB':>10}  {'peak RSS MiB':>12}  "
              f"{'seconds':>7}")
        for n in [0, *args.sizes]:
            folder = Path(tmp) / str(n)
            folder.mkdir()
            db = folder / "newsdrop.db"
            make_database(db, n)
            out = folder / f"export.{args.format}"
            rss, seconds = peak_rss_kib(db, out, args.format)
            lines = sum(1 for _ in out.open("rb"))
            expected = n + (1 if args.format == "csv" else 0)
            if args.format == "jsonl":
                assert lines == expected, f"{lines} lines for {n} articles"
            print(f"{n:>9,}  {db.stat().st_size / 2**20:>7.1f}  "
                  f"{out.stat().st_size / 2**20:>10.1f}  {rss / 1024:>12.1f}  {seconds:>7.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
