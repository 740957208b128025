"""Celery configuration from Settings: JSON only, late acks, small prefetch, time limits."""

from __future__ import annotations

from typing import Any

from celery import Celery

from worker.embedded_transport import TRANSPORT
from worker.settings import DATA_DIR_SETTING, Settings, make_folder

QUEUE = "newsdrop"


def celery_config(settings: Settings) -> dict[str, Any]:
    """The Celery settings newsdrop runs with (the README's "Nothing is lost" says why)."""
    conf: dict[str, Any] = {
        "broker_url": settings.resolved_broker_url,
        "broker_connection_retry_on_startup": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_ignore_result": True,  # state lives in the database; nothing reads results
        "result_backend": None,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.soft_time_limit_s,
        "task_time_limit": settings.hard_time_limit_s,
        "task_default_queue": QUEUE,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "enable_utc": True,
        "broker_transport": None,  # the URL's scheme decides, but for the embedded one
    }
    if settings.uses_embedded_broker:
        conf["broker_transport"] = TRANSPORT
        folder = settings.broker_folder
        for sub in ("queue", "control", "processed"):
            make_folder(folder / sub, "embedded broker's folder", DATA_DIR_SETTING)
        conf["broker_transport_options"] = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
            "processed_folder": str(folder / "processed"),
            "store_processed": False,
            # the default 1 s would dominate drop-to-done latency; a poll lists one folder
            "polling_interval": 0.01,
        }
        # billiard's blocking pool, which Celery runs for a transport without an event
        # loop, made safe against a SIGTERM sent to the whole process group
        conf["worker_pool"] = "worker.prefork:TaskPool"
        # This transport deletes a message as it is delivered, so acks_late cannot protect
        # prefetched ones anyway (the reconciler does); fetching a few ahead saves polls.
        conf["worker_prefetch_multiplier"] = 4
    else:
        conf["broker_transport_options"] = {
            # a killed worker's unacked messages come back after this long, not 1 h
            "visibility_timeout": max(settings.hard_time_limit_s * 2, 600),
        }
    return conf


def configure(app: Celery, settings: Settings) -> Celery:
    app.conf.update(celery_config(settings))
    return app
