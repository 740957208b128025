"""`newsdrop`: the command line. Each command parses, calls library code, renders.

`app` holds the `newsdrop` group; the commands are in `running` (taking documents in and
processing them), `results` (looking at what was extracted) and `operating` (watching
over and steering the pipeline), with what they share in `params`, `output`, `progress`
and `errors`.
"""

from worker.cli import operating, results, running  # noqa: F401 (each registers its commands)
from worker.cli.app import main
from worker.cli.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_NOT_FOUND", "EXIT_OK", "EXIT_TIMEOUT",
           "EXIT_UNAVAILABLE", "EXIT_USAGE", "main"]
