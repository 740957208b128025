"""`--wait`'s stall check: a wait with no worker says so instead of looking like a hang."""

from __future__ import annotations

from worker.cli.progress import RECHECK_S, STALL_CHECK_S, StallWatch


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def watch(online: list[str] | None, busy: bool = False
          ) -> tuple[StallWatch, Clock, list[int]]:
    clock, asked = Clock(), []

    def workers() -> list[str] | None:
        asked.append(1)
        return online

    return StallWatch(workers, lambda: busy, clock), clock, asked


def test_no_worker_is_said_once_after_nothing_finished_for_a_while():
    stall, clock, asked = watch([])
    assert stall.note(0) is None
    clock.now += STALL_CHECK_S - 0.1
    assert stall.note(0) is None and not asked  # not yet: no broker question either
    clock.now += 0.2
    said = stall.note(0)
    assert said is not None and said.startswith("no worker is running: start `newsdrop worker`")
    assert stall.none_online
    clock.now += RECHECK_S - 1
    assert stall.note(0) is None and len(asked) == 1  # asked again only a while later
    clock.now += 2
    assert stall.note(0) is None and len(asked) == 2  # ... and said once


def test_a_worker_too_busy_to_answer_a_ping_is_running():
    # the embedded broker's worker does not answer while all its processes are busy
    stall, clock, _ = watch([], busy=True)
    stall.note(0)
    clock.now += STALL_CHECK_S + 1
    assert stall.note(0) is None and not stall.none_online


def test_a_worker_started_during_the_wait_is_seen_at_the_next_look():
    online: list[str] = []
    clock = Clock()
    stall = StallWatch(lambda: online, lambda: False, clock)
    stall.note(0)
    clock.now += STALL_CHECK_S + 1
    assert stall.note(0) is not None and stall.none_online
    online.append("celery@host")
    clock.now += RECHECK_S + 1
    assert stall.note(0) is None and not stall.none_online


def test_progress_puts_the_check_off():
    stall, clock, asked = watch([])
    for done in range(1, 5):
        clock.now += STALL_CHECK_S - 1
        assert stall.note(done) is None
    assert not asked


def test_a_running_worker_is_not_reported_and_a_broker_down_is():
    stall, clock, _ = watch(["celery@host"])
    stall.note(0)
    clock.now += STALL_CHECK_S + 1
    assert stall.note(0) is None and not stall.none_online

    stall, clock, _ = watch(None)
    stall.note(0)
    clock.now += STALL_CHECK_S + 1
    said = stall.note(0)
    assert said is not None and "the broker does not answer" in said
