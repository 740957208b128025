"""How a command's REF names documents: an id, a sha256 prefix, or a file.

`show` and `delete` read REF alike: an id first, then a sha256 prefix, then a file,
as the shell names it (inbox/wire/a.txt) or as its stored source_path (wire/a.txt). A
prefix that several hashes start with names a file of that very name if there is one,
and is refused otherwise. `delete` reads digits as an id only (`documents_named`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from db.bounds import MAX_ID
from db.models import Document
from db.queries import (
    MIN_SHA_PREFIX,
    AmbiguousReference,
    documents_of_file,
    find_document,
    id_meant,
    latest_of_file,
    status_of,
)
from worker.intake import inbox_source_name
from worker.settings import Settings


def document_meant(session: Session, ref: str, settings: Settings) -> Document | None:
    """The one document REF names; a file gives its latest edition (`latest_of_file`).
    Raises AmbiguousReference for a prefix several hashes start with that names no file."""
    try:
        doc = find_document(session, ref, by_path=False)
    except AmbiguousReference:
        doc = _first(latest_of_file(session, name) for name in file_names(ref, settings))
        if doc is None:
            raise
        return doc
    return doc or _first(latest_of_file(session, name) for name in file_names(ref, settings))


def documents_named(session: Session, refs: Sequence[str], settings: Settings
                    ) -> tuple[list[int], list[str]]:
    """The ids of the documents `refs` name, in the order named and each once, and the
    refs that name none. Unlike `document_meant`, digits are an id and nothing else: an
    id that is missing (a mistyped one, one from another database, a rejected row
    deleted since) must not name instead a document whose hash starts with those digits,
    or a file of that name. Other refs name one document by its hash, or every edition
    of a file (`documents_of_file`); raises AmbiguousReference as `document_meant` does.
    """
    digits = {ref for ref in refs if ref.strip().isascii() and ref.strip().isdigit()}
    as_ids = [int(ref) for ref in digits if id_meant(ref) is None and int(ref) <= MAX_ID]
    existing = set(status_of(session, as_ids))
    meant: dict[int, None] = {}
    unknown: list[str] = []
    for ref in refs:
        if ref in digits:
            found = [int(ref)] if id_meant(ref) is None and int(ref) in existing else []
        else:
            found = _hash_or_file(session, ref, settings)
        meant.update(dict.fromkeys(found))
        if not found:
            unknown.append(ref)
    return list(meant), unknown


def _hash_or_file(session: Session, ref: str, settings: Settings) -> list[int]:
    try:
        doc = find_document(session, ref, by_path=False)
    except AmbiguousReference:
        ids = _file_documents(session, ref, settings)
        if not ids:
            raise
        return ids
    return [doc.id] if doc is not None else _file_documents(session, ref, settings)


def file_names(ref: str, settings: Settings) -> list[str]:
    """The source_paths REF may be: the file as the shell names it first, when it is
    there or REF names a folder (the file may have been moved out), then REF itself."""
    names = [ref]
    if os.path.lexists(ref) or os.sep in ref:
        names.insert(0, inbox_source_name(Path(ref), settings))
    return list(dict.fromkeys(names))


def what_ref_is(ref: str, command: str) -> str:
    """Why nothing was found, for a person who may have mistyped REF."""
    meant = id_meant(ref)
    if meant:
        return f"an id is written without leading zeros: `newsdrop {command} {meant}`"
    return (f"REF is an id, {MIN_SHA_PREFIX} or more hex digits of a sha256, or a file "
            "taken in (its source_path, or the file itself)")


def _file_documents(session: Session, ref: str, settings: Settings) -> list[int]:
    for name in file_names(ref, settings):
        ids = documents_of_file(session, name)
        if ids:
            return ids
    return []


def _first(found: Any) -> Any:
    return next((doc for doc in found if doc is not None), None)
