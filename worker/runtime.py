"""Per-process state: settings, database engine and session factory, made on first use.

A prefork child must not share its parent's database connections, so the engine is
thrown away in each child after the fork (see `tasks.celery_tasks`).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_engine, make_session_factory
from tasks.runner import RunnerOptions
from worker.settings import Settings, load_settings


@dataclass
class Runtime:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.resolved_database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @property
    def runner_options(self) -> RunnerOptions:
        s = self.settings
        return RunnerOptions(max_attempts=s.max_attempts, retry_base_s=s.retry_base_s,
                             retry_max_s=s.retry_max_s, max_file_bytes=s.max_file_bytes,
                             boilerplate_min_docs=s.boilerplate_min_docs)

    @property
    def worker_name(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    def after_fork(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose(close=False)


_current: Runtime | None = None


def init(settings: Settings) -> Runtime:
    global _current
    _current = Runtime(settings)
    return _current


def current() -> Runtime:
    """The process's runtime; a bare `celery -A …` worker reads settings from the env."""
    return _current if _current is not None else init(load_settings())
