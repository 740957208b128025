"""Plain data that flows between the stages: raw input, cleaned blocks, the article.

Every type here converts to and from JSON-compatible dicts, because the output of
one stage is stored in the database and read back by the next (possibly on another
machine, possibly after a retry).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any


class InputFormat(StrEnum):
    TEXT = "text"
    HTML = "html"


class BlockLabel(StrEnum):
    """What the cleaner decided a block is. Only BODY blocks form the article body."""

    BODY = "body"
    TITLE = "title"
    SUBTITLE = "subtitle"
    DATELINE = "dateline"  # publication/update date line
    BYLINE = "byline"
    READING_TIME = "reading_time"
    CAPTION = "caption"
    CREDIT = "credit"
    RELATED = "related"  # headline/link belonging to another article
    BOILERPLATE = "boilerplate"  # menus, share prompts, paywall appeals, footers…


#: the default of NEWSDROP_MAX_FILE_BYTES (20 MiB): larger inputs are refused, by intake
#: and by clean alike
MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RawDocument:
    """The bytes of one input file, and the name it arrived under (a format hint only)."""

    content: bytes
    name: str = ""


@dataclass(slots=True)
class Block:
    """One line (text dumps) or block element (HTML) with the cleaner's verdict."""

    text: str
    label: BlockLabel
    reason: str = ""  # the evidence that decided the label, for --explain
    tag: str = ""  # HTML element name, or "" for a text line
    score: float = 0.0  # body-likeness the decision was based on, where one applies

    @property
    def kept(self) -> bool:
        return self.label is BlockLabel.BODY

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "label": self.label.value,
            "reason": self.reason,
            "tag": self.tag,
            "score": self.score,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Block:
        return cls(
            text=data["text"],
            label=BlockLabel(data["label"]),
            reason=data.get("reason", ""),
            tag=data.get("tag", ""),
            score=data.get("score", 0.0),
        )


@dataclass(slots=True)
class CleanedDoc:
    """Output of `clean`: every block of the input, labelled, plus structured metadata.

    `metadata` holds fields the input states in machine-readable form (HTML JSON-LD,
    OpenGraph, meta tags, <time>), keyed by Article field names; `extract` prefers
    them over what it reads from the blocks.
    """

    format: InputFormat
    blocks: list[Block]
    encoding: str = "utf-8"
    metadata: dict[str, Any] = field(default_factory=dict)
    source_key: str = ""  # site identity for corpus-level boilerplate counts ("" if unknown)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format.value,
            "encoding": self.encoding,
            "metadata": self.metadata,
            "source_key": self.source_key,
            "blocks": [b.to_dict() for b in self.blocks],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CleanedDoc:
        return cls(
            format=InputFormat(data["format"]),
            blocks=[Block.from_dict(b) for b in data["blocks"]],
            encoding=data.get("encoding", "utf-8"),
            metadata=dict(data.get("metadata") or {}),
            source_key=data.get("source_key", ""),
        )


@dataclass(slots=True)
class Article:
    """Output of `extract`: the fields of DESIGN.md. Absent fields are None, never guessed."""

    title: str | None = None
    subtitle: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: str | None = None  # ISO 8601, no invented timezone
    updated_at: str | None = None
    body: str = ""  # paragraphs joined by blank lines
    paragraphs: list[str] = field(default_factory=list)
    image_caption: str | None = None
    photo_credit: str | None = None
    reading_time_minutes: int | None = None
    related: list[str] = field(default_factory=list)
    language: str | None = None
    word_count: int = 0
    url: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    extractor_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
