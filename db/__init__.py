"""The results database: models, engine, queries and migrations."""
