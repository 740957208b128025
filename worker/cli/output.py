"""What commands print: guarded standard output, JSON, counts, articles and verdicts."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

from worker.cli.errors import OutputCutShort


class GuardedOutput:
    """Standard output whose writes, when they fail for any reason but a closed pipe (a
    full disk, /dev/full), raise OutputCutShort; a closed pipe is left to click, which
    ends the command quietly."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def write(self, text: str) -> int:
        return self._guard(self.stream.write, text)

    def writelines(self, lines: Any) -> None:
        self._guard(self.stream.writelines, lines)

    def flush(self) -> None:
        self._guard(self.stream.flush)

    @staticmethod
    def _guard(call: Callable[..., Any], *args: Any) -> Any:
        try:
            return call(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputCutShort(
                f"cannot write to standard output: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def guarded_stdout() -> Iterator[None]:
    """Standard output as GuardedOutput while a command runs, flushed at its end so that
    what is still buffered fails then, not at exit."""
    guarded = sys.stdout = GuardedOutput(sys.stdout)
    try:
        yield
        sys.stdout.flush()
    finally:
        if sys.stdout is guarded:
            sys.stdout = guarded.stream


def dump_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def count_values(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def cut(text: str, width: int) -> str:
    """`text` in at most `width` characters, an ellipsis marking where it was cut."""
    return text if len(text) <= width else text[:width - 1] + "…"


def format_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing"


def print_article(a: dict[str, Any]) -> None:
    """Every field of the extract contract (null shown as -), then the body."""
    for key in ("title", "subtitle", "authors", "published_at", "updated_at",
                "reading_time_minutes", "image_caption", "photo_credit", "language",
                "word_count"):
        value = a.get(key)
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        click.echo(f"{key}: {'-' if value in (None, '') else value}")
    for key in ("url", "canonical_url", "site_name", "description", "tags"):
        if a.get(key) not in (None, "", []):  # stated by HTML pages only
            value = a[key]
            click.echo(f"{key}: {'; '.join(value) if isinstance(value, list) else value}")
    related = a.get("related") or []
    click.echo(f"related: {len(related)}")
    for headline in related:
        click.echo(f"  - {headline}")
    click.echo(f"extractor_version: {a.get('extractor_version')}")
    click.echo(f"paragraphs: {len(a.get('paragraphs') or [])}")
    click.echo()
    click.echo(a.get("body") or "")


def print_explain(cleaned: dict[str, Any]) -> None:
    """Every block with its verdict: + kept as body, - dropped, with the evidence."""
    click.echo(f"format {cleaned.get('format')}, encoding {cleaned.get('encoding')}, "
               f"source {cleaned.get('source_key') or '-'}")
    for b in cleaned.get("blocks", []):
        kept = b["label"] == "body"
        mark = click.style("+", fg="green") if kept else click.style("-", fg="red")
        text = b["text"].replace("\n", " ")
        if len(text) > 90:
            text = text[:87] + "..."
        click.echo(f"{mark} {b['label']:<12} {text}")
        if b.get("reason"):
            click.echo(f"    {b['reason']}")
