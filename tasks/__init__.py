"""The stages: pure functions that clean and extract articles, plus thin Celery glue."""
