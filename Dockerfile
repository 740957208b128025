# newsdrop image: one image for every role (watcher, worker, migrate, flower, api).
# The role is the command: `docker run IMAGE worker`, `docker run IMAGE db upgrade`, ...
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NEWSDROP_DATA_DIR=/data \
    NEWSDROP_INBOX=/inbox

# A fixed uid/gid so that host folders (the inbox) can be granted to it.
RUN groupadd --system --gid 10001 newsdrop \
    && useradd --system --uid 10001 --gid newsdrop --create-home \
        --home-dir /home/newsdrop --shell /usr/sbin/nologin newsdrop

# Only what the build needs (pyproject reads README.md); tests, docs and bench stay out.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY tasks ./tasks
COPY db ./db

# lxml and psycopg come as binary wheels: no compiler in the image. The source tree is
# removed after the install so that nothing imports a second copy of the package.
RUN pip install --no-cache-dir . flower \
    && cd / && rm -rf /src \
    && mkdir -p /data /inbox \
    && chown newsdrop:newsdrop /data /inbox

USER newsdrop
WORKDIR /data

# `newsdrop serve` (HTTP API)
EXPOSE 8000

ENTRYPOINT ["newsdrop"]
# With no arguments: watcher and worker in one container, embedded broker and SQLite in
# /data, files taken from /inbox. docker-compose.yml runs each role on its own instead.
CMD ["run"]
