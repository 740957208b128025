import os
import signal
import threading

from tests.conftest import wait_for
from worker import service


def test_a_stop_signal_stops_from_another_thread_than_the_one_it_interrupts():
    # `stop` sets Events whose lock the interrupted thread may hold: called in that
    # thread, it could deadlock
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    stopped_in: list[threading.Thread] = []
    try:
        service._stop_on_signals(lambda: stopped_in.append(threading.current_thread()))
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for(lambda: stopped_in, 5, interval=0.01, message="stop called")
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
    assert stopped_in[0] is not threading.main_thread()
