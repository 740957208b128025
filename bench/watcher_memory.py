"""Peak memory of the watcher over a burst of N files kept in the inbox, and on restart.

For each N, in a fresh temporary folder (SQLite database, embedded broker, no worker):

1. burst: writes N distinct ~2 KB files into a staging folder beside the inbox, starts
   the real watcher (`Watcher` with the real `Intake`, as `newsdrop watch` builds them)
   in a child process, renames all N into the inbox as fast as it can (as rsync and
   most droppers finish a file), waits until the watcher has taken all N, then has it
   run one more full rescan of the now-full inbox; files stay in the inbox
   (`NEWSDROP_AFTER_INTAKE=keep`);
2. restart: starts a new watcher on the same inbox and database and lets its start-up
   scan finish.

Printed per phase: the child's peak RSS (VmHWM from /proc), files handed to intake
(on restart, files read again although already known), and for the burst the intake
rate (first file taken → N-th file taken; the files all arrive within a second or two,
so it is the watcher's own rate) and the CPU seconds the watcher process used, all
threads, start-up included (steadier than the rate on a shared machine).

    .venv/bin/python bench/watcher_memory.py                  # 2,000 and 50,000 files
    .venv/bin/python bench/watcher_memory.py --sizes 5000 --rescan-interval 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

WORDS = ["harbour", "council", "strike", "budget", "minister", "election", "weather",
         "market", "river", "school", "police", "report", "hospital", "train", "festival",
         "court", "museum", "energy", "price", "water"]


def vm_hwm_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def file_bytes(serial: int) -> bytes:
    words = " ".join(WORDS[(serial * 7 + k * 13) % len(WORDS)] for k in range(300))
    return f"Article {serial}\n\n{words}\n".encode()


# ---------------------------------------------------------------- child: the watcher


def child(args: argparse.Namespace) -> int:
    from worker import service
    from worker.intake import Intake
    from worker.settings import Settings
    from worker.watcher import Watcher

    root = Path(args.root)
    settings = Settings(data_dir=root / "data", inbox=root / "inbox",
                        rescan_interval_s=args.rescan_interval)
    rt = service.prepare(settings)
    stats = {"handed": 0, "first_take": 0.0, "last_take": 0.0}

    class CountingIntake(Intake):
        def take(self, paths: Any) -> Any:
            paths = list(paths)
            stats["handed"] += len(paths)
            stats["first_take"] = stats["first_take"] or time.time()
            outcomes = super().take(paths)
            stats["last_take"] = time.time()
            return outcomes

    intake = CountingIntake(settings, rt.sessions, service.enqueue)
    watcher: Watcher

    def monitor() -> None:
        """Say "ready" after the start-up scan; stop the watcher once its work is done."""
        ready = False
        while not watcher.stop_event.wait(0.01):
            if not ready and watcher.rescans_done >= 1:
                ready = True
                print("ready", flush=True)
            if args.expect and watcher.taken_count >= args.expect:
                watcher.stop()
            with watcher.lock:
                waiting = bool(watcher.tracker.pending)
            if not args.expect and ready and not waiting:
                watcher.stop()

    watcher = Watcher(settings.inbox, intake, settle_ms=settings.settle_ms,
                      debounce_ms=settings.debounce_ms,
                      rescan_interval_s=settings.rescan_interval_s, poll=False,
                      poll_interval_ms=settings.poll_interval_ms,
                      batch_size=settings.batch_size)
    threading.Thread(target=monitor, name="bench-monitor", daemon=True).start()
    started = time.monotonic()
    watcher.run()
    scan_s = time.monotonic() - started
    if args.expect:
        # one more full rescan of the full inbox, as the periodic one would run it
        watcher.rescan()
        watcher.take_ready(time.monotonic() + 1)
    print(json.dumps({"peak_rss_mb": vm_hwm_mb(), "taken": watcher.taken_count,
                      "cpu_s": time.process_time(),
                      "handed": stats["handed"], "first_take": stats["first_take"],
                      "last_take": stats["last_take"], "run_s": scan_s}), flush=True)
    return 0


# ---------------------------------------------------------------- parent


def run_child(root: Path, expect: int, rescan_interval: float,
              drop: int = 0) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDROP_")}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", "--root", str(root), "--expect", str(expect),
         "--rescan-interval", str(rescan_interval)],
        env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.wait()
        raise RuntimeError(f"watcher did not start: {line!r}")
    inbox, staging = root / "inbox", root / "staging"
    dropped_from = time.time()
    for n in range(drop):
        os.rename(staging / f"{n}.txt", inbox / f"{n // 1000:03d}-{n}.txt")
    dropped_until = time.time()
    out = json.loads(proc.stdout.read().strip().splitlines()[-1])
    if proc.wait() != 0:
        raise RuntimeError("watcher failed")
    out["drop_s"] = dropped_until - dropped_from
    return dict(out)


def measure(n: int, rescan_interval: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="nd-watcher-bench-") as tmp:
        root = Path(tmp)
        (root / "inbox").mkdir()
        (root / "staging").mkdir()
        for k in range(n):
            (root / "staging" / f"{k}.txt").write_bytes(file_bytes(k))
        burst = run_child(root, n, rescan_interval, drop=n)
        restart = run_child(root, 0, rescan_interval)
    take_s = burst["last_take"] - burst["first_take"]
    return {
        "files": n,
        "burst_peak_rss_mb": round(burst["peak_rss_mb"], 1),
        "burst_taken": burst["taken"],
        "intake_files_per_s": round(n / take_s) if take_s > 0 else None,
        "drop_files_per_s": round(n / burst["drop_s"]) if burst["drop_s"] > 0 else None,
        "burst_cpu_s": round(burst["cpu_s"], 1),
        "restart_peak_rss_mb": round(restart["peak_rss_mb"], 1),
        "restart_reread": restart["handed"],
        "restart_scan_s": round(restart["run_s"], 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[2000, 50000])
    p.add_argument("--rescan-interval", type=float, default=10.0,
                   help="seconds between full rescans (default 10: several run during "
                        "a 50,000-file burst)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--root", help=argparse.SUPPRESS)
    p.add_argument("--expect", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(args)
    results = []
    for n in args.sizes:
        print(f"[bench] {n:,} files …", file=sys.stderr, flush=True)
        results.append(measure(n, args.rescan_interval))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print("| files | peak RSS, burst | intake files/s | watcher CPU s | renamed in, files/s "
          "| peak RSS, restart | read again on restart | restart scan s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['files']:,} | {r['burst_peak_rss_mb']} MB | {r['intake_files_per_s']} "
              f"| {r['burst_cpu_s']} | {r['drop_files_per_s']} "
              f"| {r['restart_peak_rss_mb']} MB | {r['restart_reread']:,} "
              f"| {r['restart_scan_s']} |")
    bad = [r for r in results if r["burst_taken"] != r["files"]]
    for r in bad:
        print(f"only {r['burst_taken']:,} of {r['files']:,} files were taken",
              file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
