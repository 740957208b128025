"""`python -m worker …` is `newsdrop …` (used to start child processes)."""

from worker.cli import main

main()
