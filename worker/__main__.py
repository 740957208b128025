"""`python -m worker …` is `newsdrop …` (used to start child processes)."""

from worker.entry import main

main()
