"""The `newsdrop` command's entry point.

Loading the command line takes a moment (Celery, SQLAlchemy); Ctrl-C in that moment ends
the command as it does later, with a one-line message and exit 130, not a traceback.
"""

from __future__ import annotations

import sys

#: as worker.cli.EXIT_INTERRUPTED, which cannot be imported before the command is loaded
EXIT_INTERRUPTED = 130


def main() -> None:
    try:
        from worker.cli import main as cli
    except KeyboardInterrupt:
        sys.stderr.write("Error: interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    cli()
