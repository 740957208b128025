"""The running service: settings, Celery app, watcher, intake, reconciler and CLI."""
