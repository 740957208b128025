"""Pipeline benchmark: the real watcher and workers, end to end, next to two baselines.

For each backend (Redis + PostgreSQL, and the embedded default: filesystem broker +
SQLite) this script:

1. starts `newsdrop watch INBOX` and `newsdrop worker -c 2` as subprocesses on a fresh
   database (PostgreSQL: `CREATE DATABASE nd_bench_<random>`, dropped afterwards; Redis
   db 14, flushed before and after; embedded: a temporary data folder);
2. burst: drops N distinct article files into the inbox (written beforehand beside the
   inbox, then renamed in one after another, as fast as the script can) and polls the
   database until every one is terminal; docs/s is N / (min(received_at) →
   max(finished_at)), read from the database, with the wall-clock figure (first drop →
   last finished_at) beside it; exactly N `done` documents and N articles are required;
3. latency: drops files at a steady rate (default 50/s for 10 s) and reports, per
   document, drop → received_at (intake) and drop → finished_at (committed), as
   p50/p95/p99; drop times are taken by this script on the same clock the pipeline
   stamps its rows with;
4. peak RSS (VmHWM from /proc) of the watcher, the worker's parent and its children,
   sampled before they are stopped, and the CPU seconds each used; and what the burst
   alone cost, in CPU ms per document, of each of those processes and of the local
   PostgreSQL and Redis server processes (from /proc, before and after the burst);
5. baselines, measured in the same run on the same backend and the same files:
   - ceiling: one loop in this process that reads each file, runs `tasks.clean.clean`
     and `tasks.extract.extract`, and inserts the articles 500 at a time (Core
     `insert()` executemany) into a scratch table;
   - naive: a small Celery app defined here, three chained tasks per document
     (clean → extract → persist), each stage one transaction writing its output and a
     status row; JSON, acks_late, otherwise Celery's defaults; its worker is this
     script run with `--naive-worker`, prefork, concurrency 2.

Usage (from the repository root):
    .venv/bin/python bench/pipeline.py                       # 2,000 docs, both backends
    .venv/bin/python bench/pipeline.py --docs 20000 --backends redis-postgres \\
        --skip-baselines
    .venv/bin/python bench/pipeline.py --html --docs 500     # ~100 KB HTML pages
    .venv/bin/python bench/pipeline.py --json > result.json

NEWSDROP_* variables set in the caller's environment (e.g. NEWSDROP_BATCH_SIZE) are
passed on to the watcher and worker, except the locations this script chooses.
Services: NEWSDROP_BENCH_DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test, used only to create and drop the
scratch database) and NEWSDROP_BENCH_REDIS_URL (default redis://127.0.0.1:6379/14).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
BACKENDS = ("redis-postgres", "embedded")
#: our own location variables; every other NEWSDROP_* of the caller is passed on
LOCATION_VARS = ("NEWSDROP_DATA_DIR", "NEWSDROP_INBOX", "NEWSDROP_DATABASE_URL",
                 "NEWSDROP_BROKER_URL")
CEILING_BATCH = 500
NAIVE_QUEUE = "naive"
#: give up when no document became terminal for this long
STALL_S = 90.0
POLL_S = 0.25

# ---------------------------------------------------------------- the corpus

_WORD_TEXT = (
    "government minister officials said report security defense ministry week talks "
    "agreement deal market prices company shares investors growth economy inflation "
    "central bank rates policy election campaign voters party leader parliament vote "
    "coalition opposition court judge ruling appeal police investigation suspects city "
    "council residents plan project budget funding schools hospital health workers union "
    "strike wages contract energy gas oil power grid climate emissions weather storm flood "
    "drought farmers harvest exports imports trade border talks summit leaders allies "
    "sanctions embassy diplomat envoy military army troops forces attack ceasefire peace "
    "negotiations statement spokesman announced confirmed denied warned expected reported "
    "according sources familiar matter officials earlier this month last year since then "
    "however although despite while because after before during amid following new old "
    "major minor key senior former current local national regional international public "
    "private technology software data network users platform service online digital "
    "research scientists study university results findings evidence experts analysts "
    "people families children students teachers doctors patients officers drivers "
    "passengers airport airline flights train railway road bridge construction housing"
)
WORDS = _WORD_TEXT.split()
#: the words that make up a third or more of real English running text (repeated ones are
#: drawn more often); without them the language guess fails and clean judges lines by
#: shape alone, a path real articles do not take
FUNCTION_WORDS = ("the", "the", "the", "of", "of", "and", "and", "to", "to", "in", "a", "a",
                  "for", "on", "that", "with", "was", "is", "by", "at", "from", "has", "have",
                  "it", "as", "were", "their", "its", "which", "who")
#: chance that a function word follows each content word (about a third of the words)
FUNCTION_WORD_RATE = 0.55
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
NAMES = ("Dana Levi", "Omar Haddad", "Maria Rossi", "John Carter", "Aiko Tanaka",
         "Lena Novak", "Peter Olsen", "Sara Cohen", "Ravi Patel", "Emma Brown")
#: lines every page of the pretend site carries; the pipeline learns them as boilerplate
SITE_LINES = ("Be the first to know - Join our Facebook page.",
              "Subscribe to our newsletter for the day's top stories.")


def _sentence(rng: random.Random, lo: int, hi: int) -> str:
    words = []
    for _ in range(rng.randint(lo, hi)):
        words.append(rng.choice(WORDS))
        if rng.random() < FUNCTION_WORD_RATE:
            words.append(rng.choice(FUNCTION_WORDS))
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), rng.choice(NAMES))
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def _title(rng: random.Random, serial: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(5, 9))]
    return f"{' '.join(words).capitalize()} ({serial})"


def article_text(rng: random.Random, serial: int, size: int = 4600) -> str:
    """A text dump shaped like the seed: title, standfirst, date line, paragraphs."""
    lines = [_title(rng, serial), "", _sentence(rng, 15, 25), "",
             f"{rng.choice(MONTHS)} {rng.randint(1, 28)}, {rng.randint(2005, 2024)} "
             f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
             f"{rng.randint(1, 6)} minute read.", ""]
    length = sum(len(x) + 1 for x in lines)
    n = 0
    while length < size:
        para = " ".join(_sentence(rng, 10, 24) for _ in range(rng.randint(2, 4)))
        lines += [para, ""]
        length += len(para) + 2
        n += 1
        if n == 3:
            lines += [SITE_LINES[0], ""]
    lines += [SITE_LINES[1], ""]
    return "\n".join(lines)


def html_page(rng: random.Random, serial: int, size: int = 100_000) -> str:
    """A ~100 KB page: head metadata, scripts and styles, navigation, the article, footer."""
    title = _title(rng, serial)
    nav = "".join(f'<li><a href="/section/{w}">{w.title()}</a></li>'
                  for w in rng.sample(WORDS, 40))
    paras = "".join(f"<p>{' '.join(_sentence(rng, 10, 24) for _ in range(3))}</p>"
                    for _ in range(rng.randint(10, 16)))
    related = "".join(f'<li><a href="/news/{serial}-{i}">{_title(rng, serial * 10 + i)}</a>'
                      "</li>" for i in range(6))
    date = f"{rng.randint(2005, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    head = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{title} | Daily Bench</title>"
            f'<meta name="description" content="{_sentence(rng, 12, 20)}">'
            '<meta property="og:site_name" content="Daily Bench">'
            f'<link rel="canonical" href="https://bench.example/news/{serial}">'
            f'<meta property="article:published_time" content="{date}T08:00:00">')
    body = (f'<body><header><nav><ul>{nav}</ul></nav></header><main><article>'
            f"<h1>{title}</h1><p class=\"standfirst\">{_sentence(rng, 15, 25)}</p>"
            f'<time datetime="{date}">{date}</time>'
            f'<p class="byline">By {rng.choice(NAMES)}</p>{paras}</article>'
            f'<aside><h2>Related</h2><ul>{related}</ul></aside></main>'
            f"<footer><ul>{nav}</ul><p>© Daily Bench</p></footer>")
    pad = size - len(head) - len(body) - 40
    script_lines = []
    while pad > 0:
        line = (f"var k{len(script_lines)}_{rng.randrange(10**6)} = "
                f"[{','.join(str(rng.randrange(1000)) for _ in range(20))}];")
        script_lines.append(line)
        pad -= len(line) + 1
    script = "<script>" + "\n".join(script_lines) + "</script>"
    return head + script + "</head>" + body + "</body></html>"


def make_corpus(n: int, *, html: bool, seed: int) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    ext = "html" if html else "txt"
    make = html_page if html else article_text
    return [(f"{i:06d}.{ext}", make(rng, seed * 1_000_000 + i).encode()) for i in range(n)]


# ---------------------------------------------------------------- small helpers


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def epoch(value: Any) -> float:
    """A database timestamp as seconds since the epoch (naive ones are UTC)."""
    if isinstance(value, str):  # SQLite through a raw query
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


def drop_file(inbox: Path, name: str, data: bytes) -> float:
    """Write under a hidden temporary name, rename in; return the drop time."""
    started = time.time()
    tmp = inbox / f".{name}.part"
    with tmp.open("wb") as fh:
        fh.write(data)
    os.rename(tmp, inbox / name)
    return started


def proc_status(pid: int) -> dict[str, str]:
    out: dict[str, str] = {}
    with suppress(OSError), open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def peak_rss_mb(pid: int) -> float | None:
    hwm = proc_status(pid).get("VmHWM")
    return int(hwm.split()[0]) / 1024 if hwm else None


def cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime are fields 14 and 15 of the line (11 and 12 after the name)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: server processes whose CPU the burst's breakdown counts, by their command name
SERVER_COMMANDS = ("postgres", "redis-server")


def burst_cpu(processes: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each labelled process, and of all server processes by name.

    Sampled before and after the burst, the difference is what the burst cost each
    part of the pipeline, start-up and idle time left out. Server processes are summed
    by command name (every PostgreSQL backend, the bench's own polling included).
    """
    out = {label: cpu_seconds(pid) or 0.0 for label, pid in processes.items()}
    out["stolen"] = stolen_seconds()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            name = stat.read_text().split("(", 1)[1].rsplit(")", 1)[0]
            if name in SERVER_COMMANDS:
                out[name] = out.get(name, 0.0) + (cpu_seconds(int(stat.parent.name)) or 0.0)
    return out


def stolen_seconds() -> float:
    """CPU seconds the hypervisor gave to other guests while this machine had work to run
    (all CPUs, /proc/stat's steal column): on a shared host, a disturbed run shows here."""
    with suppress(OSError, IndexError, ValueError), open("/proc/stat") as fh:
        return int(fh.readline().split()[8]) / os.sysconf("SC_CLK_TCK")
    return 0.0


def child_pids(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with suppress(OSError):
            out += [int(x) for x in (task / "children").read_text().split()]
    return out


def process_tree(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(child_pids(p))
    return out


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid


class Processes:
    """Subprocesses in sessions of their own, always stopped at the end."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.env = env
        self.procs: list[Proc] = []

    def start(self, name: str, cmd: list[str]) -> Proc:
        log_path = self.folder / f"{name}.log"
        fh = log_path.open("wb")
        popen = subprocess.Popen(cmd, env=self.env, cwd=self.folder, stdout=fh,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        fh.close()
        proc = Proc(name, popen, log_path)
        self.procs.append(proc)
        return proc

    def wait_log(self, proc: Proc, marker: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if marker in proc.log_path.read_text(errors="replace"):
                return
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n"
                                   f"{tail(proc.log_path)}")
            time.sleep(0.1)
        raise RuntimeError(f"{proc.name} not ready after {timeout_s:.0f}s:\n"
                           f"{tail(proc.log_path)}")

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ({p.log_path})\n{tail(p.log_path)}" for p in self.procs)

    def stop_all(self) -> None:
        for p in self.procs:
            if p.popen.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.popen.wait(timeout=5)
        self.procs.clear()


def newsdrop_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "worker", *args]


# ---------------------------------------------------------------- backends


@dataclass
class BackendEnv:
    """Where one backend's run keeps its state."""

    name: str
    folder: Path
    database_url: str
    broker_url: str  # "" for the embedded filesystem broker
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def inbox(self) -> Path:
        return self.folder / "inbox"

    def newsdrop_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in LOCATION_VARS}
        env.update(NEWSDROP_DATA_DIR=str(self.data_dir), NEWSDROP_INBOX=str(self.inbox),
                   NEWSDROP_DATABASE_URL=self.database_url,
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO),
                                                            env.get("PYTHONPATH")])))
        if self.broker_url:
            env["NEWSDROP_BROKER_URL"] = self.broker_url
        return env


def _flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.flushdb()
    finally:
        client.close()


@contextmanager
def backend_env(name: str, root: Path) -> Iterator[BackendEnv]:
    folder = root / name
    folder.mkdir(parents=True)
    if name == "embedded":
        env = BackendEnv(name, folder, f"sqlite:///{folder / 'data' / 'newsdrop.db'}", "")
        env.data_dir.mkdir()
        env.inbox.mkdir()
        yield env
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    redis_url = os.environ.get("NEWSDROP_BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    base = make_url(os.environ.get("NEWSDROP_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL))
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    db_name = f"nd_bench_{uuid.uuid4().hex[:10]}"
    _flush_redis(redis_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    try:
        env = BackendEnv(name, folder,
                         base.set(database=db_name).render_as_string(hide_password=False),
                         redis_url)
        env.data_dir.mkdir()
        env.inbox.mkdir()
        yield env
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()
        _flush_redis(redis_url)


def read_engine(url: str) -> Any:
    """An engine for polling. On SQLite not `make_engine`'s: its BEGIN IMMEDIATE would take
    the write lock on every poll and compete with the workers being measured."""
    from sqlalchemy import create_engine

    from db.engine import make_engine

    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"timeout": 30})
    return make_engine(url)


# ---------------------------------------------------------------- the real pipeline


@dataclass
class RealResult:
    backend: str
    docs: int
    docs_per_s: float = 0.0  # N / (min received_at -> max finished_at)
    wall_docs_per_s: float = 0.0  # N / (first drop -> max finished_at)
    drop_s: float = 0.0  # how long dropping the burst took
    intake_docs_per_s: float = 0.0  # N / (first drop -> last received_at): the watcher alone
    # docs/s over each tenth of the burst, in finishing order: flat if costs stay flat as
    # the database grows
    tenths_docs_per_s: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    articles: int = 0
    articles_ok: bool = False
    latency_files: int = 0
    latency_rate: float = 0.0
    committed_ms: dict[str, float | None] = field(default_factory=dict)
    intake_ms: dict[str, float | None] = field(default_factory=dict)
    # latency run, per stage: ms queued (previous commit -> start) and running, p50/p99
    stage_ms: dict[str, dict[str, float | None]] = field(default_factory=dict)
    rss_mb: dict[str, float | None] = field(default_factory=dict)
    cpu_s: dict[str, float | None] = field(default_factory=dict)
    # the burst alone: CPU ms per document of each process, servers included
    burst_cpu_ms: dict[str, float] = field(default_factory=dict)
    worker_rss_mb: float | None = None
    watcher_rss_mb: float | None = None
    error: str | None = None


def wait_terminal(engine: Any, expected: int, prefix: str) -> dict[str, int]:
    """Poll until `expected` documents named `prefix…` are terminal; counts by status."""
    from sqlalchemy import func, select

    from db.models import Document, DocumentStatus

    terminal = {s.value for s in DocumentStatus.terminal()}
    last_progress, best = time.monotonic(), -1
    while True:
        with engine.connect() as conn:
            counts = {str(getattr(s, "value", s)): n for s, n in conn.execute(
                select(Document.status, func.count())
                .where(Document.source_path.like(f"{prefix}%"))
                .group_by(Document.status))}
        done = sum(n for s, n in counts.items() if s in terminal)
        if done >= expected:
            return counts
        if done > best:
            best, last_progress = done, time.monotonic()
        elif time.monotonic() - last_progress > STALL_S:
            raise RuntimeError(f"no progress for {STALL_S:.0f}s at {counts} "
                               f"(expected {expected} terminal)")
        time.sleep(POLL_S)


def _doc_times(engine: Any, prefix: str) -> list[Any]:
    from sqlalchemy import select

    from db.models import Document

    with engine.connect() as conn:
        return list(conn.execute(
            select(Document.source_path, Document.received_at, Document.finished_at)
            .where(Document.source_path.like(f"{prefix}%"))))


def _count_articles(engine: Any, prefix: str) -> int:
    from sqlalchemy import func, select

    from db.models import Article, Document

    with engine.connect() as conn:
        return int(conn.scalar(
            select(func.count()).select_from(Article)
            .join(Document, Document.id == Article.document_id)
            .where(Document.source_path.like(f"{prefix}%"))) or 0)


def _stage_ms(engine: Any, prefix: str) -> dict[str, dict[str, float | None]]:
    from sqlalchemy import select

    from db.models import Document, StageRun

    waits: dict[str, list[float]] = {}
    runs: dict[str, list[float]] = {}
    with engine.connect() as conn:
        for r in conn.execute(
                select(StageRun.stage, StageRun.wait_ms, StageRun.duration_ms)
                .join(Document, Document.id == StageRun.document_id)
                .where(Document.source_path.like(f"{prefix}%"))):
            stage = str(getattr(r.stage, "value", r.stage))
            if r.wait_ms is not None:
                waits.setdefault(stage, []).append(r.wait_ms)
            if r.duration_ms is not None:
                runs.setdefault(stage, []).append(r.duration_ms)
    return {stage: {"wait_p50": percentile(waits.get(stage, []), 50),
                    "wait_p99": percentile(waits.get(stage, []), 99),
                    "run_p50": percentile(runs.get(stage, []), 50),
                    "run_p99": percentile(runs.get(stage, []), 99)}
            for stage in sorted(set(waits) | set(runs), key=_stage_order)}


def rates_by_part(start: float, finished: list[float], parts: int) -> list[float]:
    """docs/s over each of `parts` equal shares of the documents, in finishing order
    (the first share is timed from `start`). A batch's documents finish at one instant:
    a share that took no time is counted with the next one."""
    done = sorted(finished)
    shares: list[tuple[int, float]] = []  # (documents, seconds)
    before, since = 0, start
    for part in range(1, parts + 1):
        upto = len(done) * part // parts
        if upto > before and done[upto - 1] > since:
            shares.append((upto - before, done[upto - 1] - since))
            before, since = upto, done[upto - 1]
    if before < len(done) and shares:  # the last ones finished with the share before
        n, seconds = shares[-1]
        shares[-1] = (n + len(done) - before, seconds)
    return [n / seconds for n, seconds in shares]


def _stage_order(stage: str) -> int:
    order = ("clean", "extract", "persist")
    return order.index(stage) if stage in order else len(order)


def _ms_summary(values: list[float]) -> dict[str, float | None]:
    return {f"p{p}": percentile(values, p) for p in (50, 95, 99)} | {
        "max": max(values) if values else None}


def run_real(env: BackendEnv, burst: list[tuple[str, bytes]], steady: list[tuple[str, bytes]],
             rate: float) -> RealResult:
    result = RealResult(env.name, len(burst))
    procs = Processes(env.folder, env.newsdrop_env())
    engine = None
    try:
        upgraded = subprocess.run(newsdrop_cmd("db", "upgrade"), env=procs.env,
                                  cwd=env.folder, capture_output=True, text=True)
        if upgraded.returncode != 0:
            raise RuntimeError(f"db upgrade failed:\n{upgraded.stdout}{upgraded.stderr}")
        watcher = procs.start("watcher", newsdrop_cmd("watch", str(env.inbox)))
        worker = procs.start("worker", newsdrop_cmd("worker", "-c", "2"))
        procs.wait_log(watcher, "watching ", 60)
        procs.wait_log(worker, " ready.", 60)
        # the watcher scans, then subscribes to events: let it get there before the burst
        time.sleep(1.0)
        engine = read_engine(env.database_url)

        # Written beforehand, beside the inbox on the same filesystem, then renamed in:
        # the burst then measures the pipeline, not this script writing files.
        staging = env.folder / "burst-staging"
        staging.mkdir(exist_ok=True)
        for name, data in burst:
            (staging / ("burst-" + name)).write_bytes(data)
        log(f"{env.name}: dropping {len(burst)} files")
        labelled = {(proc.name if i == 0 else f"{proc.name}-child-{i}"): pid
                    for proc in (watcher, worker) for i, pid in enumerate(process_tree(proc.pid))}
        cpu_before = burst_cpu(labelled)
        first = time.time()
        for name, _ in burst:
            os.rename(staging / ("burst-" + name), env.inbox / ("burst-" + name))
        result.drop_s = time.time() - first
        result.statuses = wait_terminal(engine, len(burst), "burst-")
        cpu_after = burst_cpu(labelled)
        result.burst_cpu_ms = {k: (cpu_after.get(k, 0.0) - v) * 1000 / len(burst)
                               for k, v in cpu_before.items()}
        rows = _doc_times(engine, "burst-")
        finished = [epoch(r.finished_at) for r in rows if r.finished_at is not None]
        received = [epoch(r.received_at) for r in rows]
        span = max(finished) - min(received)
        result.docs_per_s = len(burst) / span if span > 0 else 0.0
        result.wall_docs_per_s = len(burst) / (max(finished) - first)
        result.intake_docs_per_s = len(burst) / (max(received) - first)
        result.tenths_docs_per_s = rates_by_part(min(received), finished, 10)
        result.articles = _count_articles(engine, "burst-")
        result.articles_ok = (result.articles == len(burst)
                              and result.statuses.get("done") == len(burst))
        log(f"{env.name}: burst {result.docs_per_s:.0f} docs/s ({result.statuses})")

        if steady:
            log(f"{env.name}: dropping {len(steady)} files at {rate:g}/s")
            written: dict[str, float] = {}
            start = time.monotonic()
            for i, (name, data) in enumerate(steady):
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                written["steady-" + name] = drop_file(env.inbox, "steady-" + name, data)
            wait_terminal(engine, len(steady), "steady-")
            committed, intake = [], []
            for r in _doc_times(engine, "steady-"):
                t = written.get(r.source_path)
                if t is None:
                    continue
                intake.append((epoch(r.received_at) - t) * 1000)
                if r.finished_at is not None:
                    committed.append((epoch(r.finished_at) - t) * 1000)
            result.latency_files, result.latency_rate = len(steady), rate
            result.committed_ms = _ms_summary(committed)
            result.intake_ms = _ms_summary(intake)
            result.stage_ms = _stage_ms(engine, "steady-")

        for proc in (watcher, worker):
            for i, pid in enumerate(process_tree(proc.pid)):
                label = proc.name if i == 0 else f"{proc.name}-child-{i}"
                result.rss_mb[label] = peak_rss_mb(pid)
                result.cpu_s[label] = cpu_seconds(pid)
        workers = [v for k, v in result.rss_mb.items() if k.startswith("worker") and v]
        watchers = [v for k, v in result.rss_mb.items() if k.startswith("watcher") and v]
        result.worker_rss_mb = max(workers) if workers else None
        result.watcher_rss_mb = max(watchers) if watchers else None
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        log(f"{env.name}: real pipeline failed: {result.error}\n{procs.logs()}")
    finally:
        procs.stop_all()
        if engine is not None:
            engine.dispose()
    return result


# ---------------------------------------------------------------- baseline: the ceiling


def ceiling_table(metadata: Any, name: str) -> Any:
    """A scratch copy of the `articles` columns, with no foreign keys."""
    from sqlalchemy import Column, Integer, Table, Text

    from db.models import ARTICLE_COLUMNS, Article

    columns = [Column(c, Article.__table__.c[c].type) for c in ARTICLE_COLUMNS]
    return Table(name, metadata, Column("id", Integer, primary_key=True),
                 Column("source", Text), *columns)


def run_ceiling(database_url: str, files: list[Path]) -> float:
    """docs/s of one in-process loop: read, clean, extract, insert 500 at a time."""
    from sqlalchemy import MetaData, insert

    from db.engine import make_engine
    from db.models import ARTICLE_COLUMNS
    from tasks.clean import clean
    from tasks.document import RawDocument
    from tasks.extract import extract

    engine = make_engine(database_url)
    metadata = MetaData()
    table = ceiling_table(metadata, "bench_ceiling_articles")
    metadata.drop_all(engine)
    metadata.create_all(engine)
    try:
        started = time.perf_counter()
        batch: list[dict[str, Any]] = []
        for path in files:
            data = extract(clean(RawDocument(path.read_bytes(), name=path.name))).to_dict()
            batch.append({"source": path.name, **{c: data[c] for c in ARTICLE_COLUMNS}})
            if len(batch) >= CEILING_BATCH:
                with engine.begin() as conn:
                    conn.execute(insert(table), batch)
                batch = []
        if batch:
            with engine.begin() as conn:
                conn.execute(insert(table), batch)
        elapsed = time.perf_counter() - started
        with engine.connect() as conn:
            from sqlalchemy import func, select

            stored = conn.scalar(select(func.count()).select_from(table))
        if stored != len(files):
            raise RuntimeError(f"ceiling stored {stored} of {len(files)} articles")
        return len(files) / elapsed
    finally:
        metadata.drop_all(engine)
        engine.dispose()


# ---------------------------------------------------------------- baseline: naive Celery

_naive_engine: Any = None


def naive_tables(metadata: Any) -> dict[str, Any]:
    from sqlalchemy import (
        JSON,
        Column,
        DateTime,
        Integer,
        LargeBinary,
        String,
        Table,
        Text,
    )

    return {
        "documents": Table(
            "naive_documents", metadata, Column("id", Integer, primary_key=True),
            Column("source", Text), Column("content", LargeBinary),
            Column("status", String(16)), Column("finished_at", DateTime(timezone=True))),
        "status": Table(
            "naive_stage_status", metadata, Column("id", Integer, primary_key=True),
            Column("document_id", Integer, index=True), Column("stage", String(16)),
            Column("state", String(16)), Column("at", DateTime(timezone=True))),
        "outputs": Table(
            "naive_outputs", metadata, Column("document_id", Integer, primary_key=True),
            Column("stage", String(16), primary_key=True), Column("payload", JSON)),
        "articles": ceiling_table(metadata, "naive_articles"),
    }


_NAIVE_META: Any = None


def _naive() -> tuple[Any, dict[str, Any]]:
    """This process's engine and tables for the naive pipeline (made after the fork)."""
    global _naive_engine, _NAIVE_META
    from sqlalchemy import MetaData

    from db.engine import make_engine

    if _NAIVE_META is None:
        _NAIVE_META = MetaData()
        naive_tables(_NAIVE_META)
    if _naive_engine is None:
        _naive_engine = make_engine(os.environ["BENCH_NAIVE_DATABASE_URL"])
    return _naive_engine, {
        "documents": _NAIVE_META.tables["naive_documents"],
        "status": _NAIVE_META.tables["naive_stage_status"],
        "outputs": _NAIVE_META.tables["naive_outputs"],
        "articles": _NAIVE_META.tables["naive_articles"],
    }


@contextmanager
def _naive_writing(engine: Any) -> Iterator[Any]:
    """A write transaction; on SQLite it takes the write lock up front (BEGIN IMMEDIATE),
    as any SQLite writer beside others must, or a read-then-write fails as locked."""
    from db.engine import WRITES

    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITES: True})
        with conn.begin():
            yield conn


def _naive_record(conn: Any, t: dict[str, Any], doc_id: int, stage: str,
                  payload: dict[str, Any] | None) -> None:
    from sqlalchemy import insert, update

    from db.models import utcnow

    now = utcnow()
    if payload is not None:
        conn.execute(insert(t["outputs"]).values(document_id=doc_id, stage=stage,
                                                 payload=payload))
    conn.execute(insert(t["status"]).values(document_id=doc_id, stage=stage,
                                            state="succeeded", at=now))
    values: dict[str, Any] = {"status": "done" if stage == "persist" else stage}
    if stage == "persist":
        values["finished_at"] = now
    conn.execute(update(t["documents"]).where(t["documents"].c.id == doc_id).values(values))


def naive_clean(doc_id: int) -> int:
    from sqlalchemy import select

    from tasks.clean import clean
    from tasks.document import RawDocument

    engine, t = _naive()
    with engine.begin() as conn:
        row = conn.execute(select(t["documents"].c.content, t["documents"].c.source)
                           .where(t["documents"].c.id == doc_id)).one()
    out = clean(RawDocument(row.content, name=row.source)).to_dict()
    with _naive_writing(engine) as conn:
        _naive_record(conn, t, doc_id, "clean", out)
    return doc_id


def naive_extract(doc_id: int) -> int:
    from sqlalchemy import select

    from tasks.document import CleanedDoc
    from tasks.extract import extract

    engine, t = _naive()
    o = t["outputs"]
    with engine.begin() as conn:
        cleaned = conn.scalar(select(o.c.payload).where(o.c.document_id == doc_id,
                                                        o.c.stage == "clean"))
    out = extract(CleanedDoc.from_dict(cleaned)).to_dict()
    with _naive_writing(engine) as conn:
        _naive_record(conn, t, doc_id, "extract", out)
    return doc_id


def naive_persist(doc_id: int) -> int:
    from sqlalchemy import insert, select

    from db.models import ARTICLE_COLUMNS

    engine, t = _naive()
    o = t["outputs"]
    with _naive_writing(engine) as conn:
        art = conn.scalar(select(o.c.payload).where(o.c.document_id == doc_id,
                                                    o.c.stage == "extract"))
        conn.execute(insert(t["articles"]).values(
            source=str(doc_id), **{c: art[c] for c in ARTICLE_COLUMNS}))
        _naive_record(conn, t, doc_id, "persist", None)
    return doc_id


def naive_app(broker_url: str, broker_folder: Path) -> Any:
    """The naive pipeline's Celery app: JSON, acks_late, otherwise Celery's defaults."""
    from celery import Celery
    from celery.signals import worker_process_init

    app = Celery("bench_naive")
    conf: dict[str, Any] = {
        "broker_url": broker_url or "filesystem://localhost/",
        "task_serializer": "json", "accept_content": ["json"], "result_serializer": "json",
        "task_acks_late": True, "task_ignore_result": True, "result_backend": None,
        "task_default_queue": NAIVE_QUEUE, "broker_connection_retry_on_startup": True,
        "worker_send_task_events": False,
    }
    if not broker_url:
        for sub in ("queue", "control"):
            (broker_folder / sub).mkdir(parents=True, exist_ok=True)
        conf["broker_transport_options"] = {
            "data_folder_in": str(broker_folder / "queue"),
            "data_folder_out": str(broker_folder / "queue"),
            "control_folder": str(broker_folder / "control"),
            "store_processed": False, "polling_interval": 0.05,
        }
    app.conf.update(conf)
    app.task(name="naive.clean")(naive_clean)
    app.task(name="naive.extract")(naive_extract)
    app.task(name="naive.persist")(naive_persist)

    @worker_process_init.connect(weak=False)
    def _after_fork(**_: Any) -> None:
        global _naive_engine
        if _naive_engine is not None:
            _naive_engine.dispose(close=False)
        _naive_engine = None

    return app


def naive_worker_main() -> None:
    app = naive_app(os.environ.get("BENCH_NAIVE_BROKER_URL", ""),
                    Path(os.environ["BENCH_NAIVE_BROKER_FOLDER"]))
    app.worker_main(["worker", "--concurrency=2", "--pool=prefork", "--loglevel=INFO",
                     f"--queues={NAIVE_QUEUE}", "--without-gossip", "--without-mingle",
                     f"--hostname=naive-{os.getpid()}@%h"])


def run_naive(env: BackendEnv, files: list[Path]) -> float:
    """docs/s of three chained tasks per document, first send → last persist committed."""
    from celery import chain
    from sqlalchemy import MetaData, func, insert, select

    from db.engine import make_engine

    url = env.database_url if env.name != "embedded" else \
        f"sqlite:///{env.folder / 'naive.db'}"
    broker_folder = env.folder / "naive-broker"
    if env.broker_url:
        _flush_redis(env.broker_url)
    engine = make_engine(url)
    metadata = MetaData()
    t = naive_tables(metadata)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(t["documents"]), [
            {"id": i + 1, "source": p.name, "content": p.read_bytes(), "status": "queued"}
            for i, p in enumerate(files)])
    proc_env = {**os.environ, "BENCH_NAIVE_DATABASE_URL": url,
                "BENCH_NAIVE_BROKER_URL": env.broker_url,
                "BENCH_NAIVE_BROKER_FOLDER": str(broker_folder),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                            os.environ.get("PYTHONPATH")]))}
    procs = Processes(env.folder, proc_env)
    app = naive_app(env.broker_url, broker_folder)
    try:
        worker = procs.start("naive-worker", [sys.executable, str(Path(__file__).resolve()),
                                              "--naive-worker"])
        procs.wait_log(worker, " ready.", 60)
        clean_t, extract_t, persist_t = (app.tasks[f"naive.{s}"]
                                         for s in ("clean", "extract", "persist"))
        started = time.time()
        for i in range(1, len(files) + 1):
            chain(clean_t.si(i), extract_t.s(), persist_t.s()).apply_async()
        docs = t["documents"]
        last_progress, best = time.monotonic(), -1
        while True:
            with engine.connect() as conn:
                done = conn.scalar(select(func.count()).select_from(docs)
                                   .where(docs.c.status == "done")) or 0
            if done >= len(files):
                break
            if done > best:
                best, last_progress = done, time.monotonic()
            elif time.monotonic() - last_progress > STALL_S:
                raise RuntimeError(f"naive pipeline stalled at {done}/{len(files)}\n"
                                   f"{procs.logs()}")
            time.sleep(POLL_S)
        with engine.connect() as conn:
            last = conn.scalar(select(func.max(docs.c.finished_at)))
            articles = conn.scalar(select(func.count()).select_from(t["articles"]))
        if articles != len(files):
            raise RuntimeError(f"naive pipeline stored {articles} of {len(files)} articles")
        return len(files) / (epoch(last) - started)
    finally:
        procs.stop_all()
        with suppress(Exception):
            metadata.drop_all(engine)
        engine.dispose()
        with suppress(Exception):
            app.close()
        if env.broker_url:
            _flush_redis(env.broker_url)


# ---------------------------------------------------------------- the run


@dataclass
class BackendReport:
    backend: str
    real: RealResult
    ceiling_docs_per_s: float | None = None
    naive_docs_per_s: float | None = None
    baseline_errors: list[str] = field(default_factory=list)

    @property
    def ratio_to_ceiling(self) -> float | None:
        if not self.ceiling_docs_per_s or self.real.error:
            return None
        return self.real.docs_per_s / self.ceiling_docs_per_s

    @property
    def ratio_to_naive(self) -> float | None:
        if not self.naive_docs_per_s or self.real.error:
            return None
        return self.real.docs_per_s / self.naive_docs_per_s

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(ratio_to_ceiling=self.ratio_to_ceiling, ratio_to_naive=self.ratio_to_naive)
        return out


def run_backend(name: str, root: Path, burst: list[tuple[str, bytes]],
                steady: list[tuple[str, bytes]], args: argparse.Namespace) -> BackendReport:
    with backend_env(name, root) as env:
        corpus_dir = env.folder / "corpus"
        corpus_dir.mkdir()
        files = []
        for fname, data in burst:
            (corpus_dir / fname).write_bytes(data)
            files.append(corpus_dir / fname)
        report = BackendReport(name, run_real(env, burst, steady, args.rate))
        if not args.skip_baselines:
            log(f"{name}: ceiling (one in-process loop)")
            try:
                report.ceiling_docs_per_s = run_ceiling(env.database_url, files)
            except Exception as exc:
                report.baseline_errors.append(f"ceiling: {type(exc).__name__}: {exc}")
            log(f"{name}: naive Celery pipeline (3 chained tasks per document)")
            try:
                report.naive_docs_per_s = run_naive(env, files)
            except Exception as exc:
                report.baseline_errors.append(f"naive: {type(exc).__name__}: {exc}")
            for err in report.baseline_errors:
                log(f"{name}: baseline failed: {err}")
        return report


def _f(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def render(reports: list[BackendReport], args: argparse.Namespace) -> str:
    kind = "html" if args.html else "text"
    head = (f"{'backend':<16}{'docs':>7}{'docs/s':>9}{'ratio-to-ceiling':>18}"
            f"{'ratio-to-naive':>16}{'p50 ms':>8}{'p99 ms':>8}{'worker RSS MB':>15}"
            f"{'watcher RSS MB':>16}")
    lines = [f"newsdrop pipeline benchmark: {args.docs} {kind} documents per backend, "
             f"latency at {args.rate:g} files/s for {args.duration:g} s", "", head]
    for r in reports:
        real = r.real
        name = r.backend.replace("redis-postgres", "redis+postgres")
        if real.error:
            lines.append(f"{name:<16}{real.docs:>7}  FAILED: {real.error}")
            continue
        lines.append(
            f"{name:<16}{real.docs:>7}{real.docs_per_s:>9.0f}"
            f"{_f(r.ratio_to_ceiling, '.2f'):>18}{_f(r.ratio_to_naive, '.2f'):>16}"
            f"{_f(real.committed_ms.get('p50'), '.0f'):>8}"
            f"{_f(real.committed_ms.get('p99'), '.0f'):>8}"
            f"{_f(real.worker_rss_mb, '.0f'):>15}{_f(real.watcher_rss_mb, '.0f'):>16}")
    lines += ["", "baselines (same run, same files, same backend):",
              f"{'backend':<16}{'ceiling docs/s':>16}{'naive docs/s':>14}"]
    for r in reports:
        lines.append(f"{r.backend:<16}{_f(r.ceiling_docs_per_s, '.0f'):>16}"
                     f"{_f(r.naive_docs_per_s, '.0f'):>14}"
                     + ("  " + "; ".join(r.baseline_errors) if r.baseline_errors else ""))
    lines += ["", "details:"]
    for r in reports:
        real = r.real
        if real.error:
            continue
        c, i = real.committed_ms, real.intake_ms
        lines.append(
            f"  {r.backend}: burst dropped in {real.drop_s:.1f}s, taken in by the watcher at "
            f"{real.intake_docs_per_s:.0f} docs/s; wall-clock (first drop -> "
            f"last finished) {real.wall_docs_per_s:.0f} docs/s; statuses {real.statuses}; "
            f"articles {real.articles} ({'ok' if real.articles_ok else 'MISMATCH'})")
        lines.append(
            f"    latency over {real.latency_files} files: drop->committed p50/p95/p99/max "
            f"{_f(c.get('p50'), '.0f')}/{_f(c.get('p95'), '.0f')}/{_f(c.get('p99'), '.0f')}/"
            f"{_f(c.get('max'), '.0f')} ms; drop->received "
            f"{_f(i.get('p50'), '.0f')}/{_f(i.get('p95'), '.0f')}/{_f(i.get('p99'), '.0f')}/"
            f"{_f(i.get('max'), '.0f')} ms")
        if real.tenths_docs_per_s:
            lines.append("    burst docs/s by tenth, in finishing order: "
                         + " ".join(f"{v:.0f}" for v in real.tenths_docs_per_s))
        if real.stage_ms:
            lines.append("    per stage (latency run), ms queued p50/p99 + running p50/p99: "
                         + "; ".join(
                f"{st} {_f(v['wait_p50'], '.0f')}/{_f(v['wait_p99'], '.0f')} + "
                f"{_f(v['run_p50'], '.0f')}/{_f(v['run_p99'], '.0f')}"
                for st, v in real.stage_ms.items()))
        procs = ", ".join(f"{k} {_f(v, '.0f')} MB / {_f(real.cpu_s.get(k), '.1f')} s CPU"
                          for k, v in real.rss_mb.items())
        lines.append(f"    peak RSS / CPU: {procs}")
        if real.burst_cpu_ms:
            used = {k: v for k, v in real.burst_cpu_ms.items() if k != "stolen"}
            lines.append("    burst CPU ms per document: " + ", ".join(
                f"{k} {v:.2f}" for k, v in used.items())
                + f" (total {sum(used.values()):.2f}); stolen by the hypervisor "
                f"{real.burst_cpu_ms.get('stolen', 0.0):.2f}")
    passed = {k: os.environ[k] for k in sorted(os.environ)
              if k.startswith("NEWSDROP_") and k not in LOCATION_VARS
              and not k.startswith("NEWSDROP_BENCH_")}
    if passed:
        lines.append(f"  settings passed on: {passed}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", type=int, default=2000, help="documents in the burst (2000)")
    p.add_argument("--backends", default=",".join(BACKENDS),
                   help=f"comma-separated, of {', '.join(BACKENDS)} (both)")
    p.add_argument("--html", action="store_true", help="~100 KB HTML pages, not text dumps")
    p.add_argument("--skip-baselines", action="store_true",
                   help="no in-process ceiling, no naive Celery pipeline")
    p.add_argument("--rate", type=float, default=50.0, help="latency run: files/s (50)")
    p.add_argument("--duration", type=float, default=10.0,
                   help="latency run: seconds, 0 to skip (10)")
    p.add_argument("--seed", type=int, default=1, help="corpus seed (1)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--keep-logs", type=Path, metavar="DIR",
                   help="copy the watcher's and workers' logs into DIR before cleaning up")
    p.add_argument("--naive-worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.backend_list = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in args.backend_list if b not in BACKENDS]
    if unknown:
        p.error(f"unknown backend(s): {', '.join(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.naive_worker:
        naive_worker_main()
        return 0
    steady_n = int(args.rate * args.duration)
    log(f"generating {args.docs} + {steady_n} {'HTML' if args.html else 'text'} documents")
    corpus = make_corpus(args.docs + steady_n, html=args.html, seed=args.seed)
    burst, steady = corpus[:args.docs], corpus[args.docs:]
    root = Path(tempfile.mkdtemp(prefix="nd-bench-"))
    reports: list[BackendReport] = []
    try:
        for name in args.backend_list:
            reports.append(run_backend(name, root, burst, steady, args))
    finally:
        if args.keep_logs:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for path in root.glob("*/*.log"):
                shutil.copy(path, args.keep_logs / f"{path.parent.name}-{path.name}")
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps({"docs": args.docs, "html": args.html, "rate": args.rate,
                          "duration": args.duration,
                          "backends": [r.to_dict() for r in reports]}, indent=2))
    else:
        print(render(reports, args))
    return 1 if any(r.real.error for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
