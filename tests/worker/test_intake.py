"""Intake on a real SQLite database: the row is committed before the id is sent."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import select

from db import migrate
from db.engine import make_engine, make_session_factory, transaction
from db.models import Document, DocumentContent, DocumentStatus
from worker.intake import Intake, is_ignored_name
from worker.settings import AfterIntake, DuplicatePolicy, Settings


@pytest.fixture
def env(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'nd.db'}")
    migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    sent: list[list[int]] = []

    def enqueue(ids):
        # the ids must already be committed when they are sent
        with transaction(sessions) as s:
            assert len(s.scalars(select(Document.id).where(Document.id.in_(ids))).all()) == len(ids)
        sent.append(ids)

    inbox = tmp_path / "inbox"
    inbox.mkdir()

    def make(**overrides):
        settings = Settings(data_dir=tmp_path / "data", inbox=inbox, **overrides)
        return Intake(settings, sessions, enqueue)

    yield make, inbox, sessions, sent
    engine.dispose()


def docs(sessions):
    with transaction(sessions) as s:
        return {d.source_path: d for d in s.scalars(select(Document))}


def test_files_are_stored_with_their_bytes_and_enqueued_after_commit(env):
    make, inbox, sessions, sent = env
    (inbox / "a.txt").write_bytes(b"alpha")
    (inbox / "sub").mkdir()
    (inbox / "sub" / "b c é.txt").write_bytes(b"beta")
    outcomes = make().take([inbox / "a.txt", inbox / "sub" / "b c é.txt"])
    assert [o.status for o in outcomes] == [DocumentStatus.QUEUED] * 2
    assert sent == [[o.document_id for o in outcomes]]
    rows = docs(sessions)
    assert set(rows) == {"a.txt", "sub/b c é.txt"}
    with transaction(sessions) as s:
        assert s.get(DocumentContent, rows["a.txt"].id).content == b"alpha"


def test_seeing_the_same_file_again_takes_nothing(env):
    make, inbox, sessions, sent = env
    (inbox / "a.txt").write_bytes(b"alpha")
    intake = make()
    intake.take([inbox / "a.txt"])
    assert [o.status for o in intake.take([inbox / "a.txt"])] == [None]
    assert len(docs(sessions)) == 1 and len(sent) == 1


def test_a_copy_is_a_duplicate_and_is_not_enqueued(env):
    make, inbox, sessions, sent = env
    (inbox / "a.txt").write_bytes(b"alpha")
    (inbox / "copy.txt").write_bytes(b"alpha")
    first, copy = make().take([inbox / "a.txt", inbox / "copy.txt"])
    assert copy.status is DocumentStatus.DUPLICATE and copy.duplicate_of == first.document_id
    assert sent == [[first.document_id]]
    with transaction(sessions) as s:  # link policy: the bytes are stored once
        assert s.get(DocumentContent, copy.document_id) is None


def test_reject_policy_moves_duplicates_aside_with_a_sidecar(env, tmp_path):
    make, inbox, sessions, _ = env
    (inbox / "a.txt").write_bytes(b"alpha")
    (inbox / "copy.txt").write_bytes(b"alpha")
    make(duplicate_policy=DuplicatePolicy.REJECT).take([inbox / "a.txt", inbox / "copy.txt"])
    moved = tmp_path / "data" / "rejected" / "copy.txt"
    assert moved.read_bytes() == b"alpha" and not (inbox / "copy.txt").exists()
    sidecar = json.loads((moved.parent / "copy.txt.error.json").read_text())
    assert sidecar["reason"].startswith("duplicate of document")


def test_oversized_file_is_rejected_with_a_row_and_a_sidecar(env, tmp_path):
    make, inbox, sessions, sent = env
    (inbox / "big.txt").write_bytes(b"x" * 2000)
    [outcome] = make(max_file_bytes=1000).take([inbox / "big.txt"])
    assert outcome.status is DocumentStatus.REJECTED
    row = docs(sessions)["big.txt"]
    assert row.error_kind == "too_large" and "over the limit" in row.last_error
    rejected = tmp_path / "data" / "rejected"
    assert (rejected / "big.txt").exists()
    sidecar = json.loads((rejected / "big.txt.error.json").read_text())
    assert sidecar["stage"] == "intake" and "over the limit" in sidecar["reason"]
    assert sent == []


def test_symlink_out_of_the_inbox_is_rejected_and_never_read(env, tmp_path):
    make, inbox, sessions, _ = env
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    os.symlink(secret, inbox / "link.txt")
    [outcome] = make().take([inbox / "link.txt"])
    assert outcome.status is DocumentStatus.REJECTED
    assert "outside the inbox" in docs(sessions)["link.txt"].last_error
    assert secret.read_text() == "outside"  # the target is untouched


def test_a_file_that_vanished_gets_a_rejected_row(env):
    make, inbox, sessions, _ = env
    [outcome] = make().take([inbox / "gone.txt"])
    assert outcome.status is DocumentStatus.REJECTED
    assert "disappeared" in docs(sessions)["gone.txt"].last_error


@pytest.mark.parametrize("policy", [AfterIntake.MOVE, AfterIntake.DELETE])
def test_file_leaves_the_inbox_only_after_commit(env, tmp_path, policy):
    make, inbox, sessions, _ = env
    (inbox / "a.txt").write_bytes(b"alpha")
    make(after_intake=policy).take([inbox / "a.txt"])
    assert not (inbox / "a.txt").exists()
    archived = tmp_path / "data" / "archive" / "a.txt"
    assert archived.exists() == (policy is AfterIntake.MOVE)
    assert "a.txt" in docs(sessions)


@pytest.mark.parametrize("name,ignored", [
    (".hidden.txt", True), ("x.part", True), ("y.tmp", True), ("z~", True),
    ("a.txt.error.json", True), ("article.txt", False), ("page.html", False),
    ("résumé du jour.txt", False),
])
def test_temporary_and_hidden_names_are_ignored(name, ignored, tmp_path):
    assert is_ignored_name(tmp_path / name) is ignored
