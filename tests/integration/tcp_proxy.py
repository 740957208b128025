"""A small TCP proxy that can refuse connections for a while: a database outage on demand.

Processes under test connect to the proxy's port instead of the server's. `down()`
closes the listening socket (new connections are refused) and cuts every open one;
`up()` listens on the same port again. Threads, not asyncio: it runs beside pytest.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._accepting = threading.Event()
        self.accepted = 0
        self._cut_pattern = b""
        self._cuts_left = 0
        self.cut = 0  # connections cut by `cut_when_sent`

    def __enter__(self) -> TcpProxy:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def up(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.1)  # so the accept loop notices `down()` promptly
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accepting.set()
        threading.Thread(target=self._accept_loop, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Refuse new connections and cut the open ones."""
        self._accepting.clear()
        if self._listener is not None:
            # shutdown first: a close alone leaves the socket listening until the accept
            # loop's poll returns, and the port could not be bound again before then
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            conns, self._conns = self._conns, set()
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()

    def cut_when_sent(self, pattern: bytes, times: int) -> None:
        """Cut the next `times` connections whose client sends bytes holding `pattern`
        (e.g. a table name in a query), just before the server sees them."""
        with self._lock:
            self._cut_pattern, self._cuts_left = pattern, times

    def _should_cut(self, data: bytes) -> bool:
        with self._lock:
            if self._cuts_left > 0 and self._cut_pattern and self._cut_pattern in data:
                self._cuts_left -= 1
                self.cut += 1
                return True
        return False

    def outage(self, seconds: float) -> None:
        self.down()
        time.sleep(seconds)
        self.up()

    def _accept_loop(self, listener: socket.socket) -> None:
        while self._accepting.is_set() and listener is self._listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            with self._lock:
                if not self._accepting.is_set():
                    client.close()
                    upstream.close()
                    return
                self._conns.update((client, upstream))
                self.accepted += 1
            for src, dst, inspect in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(src, dst, inspect),
                                 daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, inspect: bool) -> None:
        try:
            while data := src.recv(65536):
                if inspect and self._should_cut(data):
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)
