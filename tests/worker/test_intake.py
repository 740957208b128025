"""Intake on a real SQLite database: the row is committed before the id is sent."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from db import migrate
from db.engine import make_engine, make_session_factory, transaction
from db.models import Document, DocumentContent, DocumentStatus
from worker.intake import Intake, batches, is_ignored, is_ignored_name
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

    def make(*, root=None, move_rejected=True, enqueue_with=enqueue, **overrides):
        settings = Settings(data_dir=tmp_path / "data", inbox=inbox, **overrides)
        return Intake(settings, sessions, enqueue_with, root=root, move_rejected=move_rejected)

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
    [first] = intake.take([inbox / "a.txt"])
    [again] = intake.take([inbox / "a.txt"])
    # nothing taken, but the document it already is can be waited for (ingest --wait)
    assert again.status is None and again.document_id == first.document_id
    assert len(docs(sessions)) == 1 and len(sent) == 1


def test_a_file_seen_again_is_looked_up_once_and_its_new_mtime_recorded(env):
    from sqlalchemy import event

    make, inbox, sessions, _ = env
    f = inbox / "a.txt"
    f.write_bytes(b"alpha")
    intake = make()
    [first] = intake.take([f])
    os.utime(f, ns=(10**18, 10**18))  # touched: the same bytes under the same name
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()))

    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        [again] = intake.take([f])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert again.status is None and again.document_id == first.document_id
    # the lookup that told it was seen again also told which document it is
    assert len([s for s in statements if s.startswith("SELECT") and "sha256 IN" in s]) == 1
    assert docs(sessions)["a.txt"].source_mtime_ns == 10**18


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


def test_a_link_to_a_file_of_the_inbox_is_said_once_and_its_target_taken_alone(env, caplog):
    make, inbox, sessions, _ = env
    (inbox / "sub").mkdir()
    (inbox / "sub" / "nested.txt").write_bytes(b"nested")
    (inbox / ".hidden").mkdir()
    (inbox / ".hidden" / "h.txt").write_bytes(b"hidden")
    (inbox / "link-in.txt").symlink_to("sub/nested.txt")
    (inbox / "alias.txt").symlink_to(".hidden/h.txt")
    intake = make()
    with caplog.at_level("INFO", logger="worker.intake"):
        for _ in range(2):  # as rescans meet the links again
            assert intake.take([inbox / "link-in.txt", inbox / "alias.txt"]) == []
    assert [r.getMessage() for r in caplog.records] == [
        "link-in.txt links to sub/nested.txt: taken in under that name only",
        "alias.txt links to .hidden/h.txt, whose name is hidden or temporary: neither is "
        "taken in"]
    [outcome] = intake.take([inbox / "sub" / "nested.txt"])
    assert outcome.status is DocumentStatus.QUEUED
    assert set(docs(sessions)) == {"sub/nested.txt"}


def test_a_file_that_vanished_gets_no_row_only_a_log_line(env, caplog):
    """Moved or deleted before it was read: nothing of it was held, and nothing can be
    done about it, so it is no rejected document."""
    make, inbox, sessions, sent = env
    (inbox / "here.txt").write_bytes(b"here")
    with caplog.at_level("INFO", logger="worker.intake"):
        outcomes = make().take([inbox / "gone.txt", inbox / "here.txt",
                                inbox / "renamed-folder" / "a.txt"])
    assert [(o.path.name, o.status) for o in outcomes] == [("here.txt", DocumentStatus.QUEUED)]
    assert set(docs(sessions)) == {"here.txt"}
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "gone.txt was moved or deleted before it could be read; not taken in"),
        ("INFO", "renamed-folder/a.txt was moved or deleted before it could be read; not "
                 "taken in")]
    assert make().take([inbox / "gone.txt"]) == []


def test_duplicates_are_logged_one_line_each_or_one_for_many(env, caplog):
    make, inbox, sessions, _ = env
    (inbox / "first.txt").write_bytes(b"same")
    for n in range(8):
        (inbox / f"copy{n}.txt").write_bytes(b"same")
    intake = make()
    [first] = intake.take([inbox / "first.txt"])
    with caplog.at_level("INFO", logger="worker.intake"):
        intake.take([inbox / "copy0.txt"])  # as the watcher takes them, mostly
        intake.take([inbox / f"copy{n}.txt" for n in range(1, 8)])  # as `ingest` does
    assert [r.getMessage() for r in caplog.records] == [
        f"copy0.txt is a duplicate of document {first.document_id}",
        "7 files are duplicates of documents taken in ("
        + ", ".join(f"copy{n}.txt of {first.document_id}" for n in range(1, 6)) + ", …)"]


def test_many_files_that_vanished_are_logged_in_one_line(env, caplog):
    make, inbox, sessions, _ = env
    with caplog.at_level("INFO", logger="worker.intake"):
        assert make().take([inbox / "ren" / f"{n}.txt" for n in range(100)]) == []
    assert docs(sessions) == {}
    [record] = caplog.records
    assert record.getMessage().startswith(
        "100 files were moved or deleted before they could be read, and not taken in "
        "(ren/0.txt, ren/1.txt,")


def test_a_broken_symlink_is_rejected_and_moved_aside_not_called_vanished(env, tmp_path):
    make, inbox, sessions, _ = env
    (inbox / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    [outcome] = make().take([inbox / "dangling.txt"])
    assert outcome.status is DocumentStatus.REJECTED
    assert "symlink to a file that does not exist" in outcome.reason
    # moved out of the inbox, so no rescan finds it again
    assert not os.path.lexists(inbox / "dangling.txt")
    assert (tmp_path / "data" / "rejected" / "dangling.txt").is_symlink()


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
    ("résumé du jour.txt", False), ("big.zip.filepart", True), ("page.html.download", True),
    ("a.partial", True), ("a.crdownload", True), ("~$report.docx", True),
    ("approx~ish.txt", False),
])
def test_temporary_and_hidden_names_are_ignored(name, ignored, tmp_path):
    assert is_ignored_name(tmp_path / name) is ignored


def test_a_name_inside_a_hidden_or_temporary_folder_is_ignored(tmp_path):
    assert is_ignored(tmp_path / ".git" / "objects" / "ab", tmp_path)
    assert is_ignored(tmp_path / "job.partial" / "a.txt", tmp_path)
    assert not is_ignored(tmp_path / "sub" / "a.txt", tmp_path)
    # only components below the root count: a hidden folder above it is the user's business
    assert not is_ignored(tmp_path / ".config" / "inbox" / "a.txt", tmp_path / ".config" / "inbox")


@pytest.mark.parametrize("policy", list(AfterIntake))
def test_a_symlinked_folder_is_not_followed_out_of_the_inbox(env, tmp_path, policy):
    make, inbox, sessions, sent = env
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside")
    os.symlink(outside, inbox / "link")
    # what watchfiles reports for a file below the linked folder
    [outcome] = make(after_intake=policy).take([inbox / "link" / "secret.txt"])
    assert outcome.status is DocumentStatus.REJECTED
    assert "outside the inbox" in docs(sessions)["link/secret.txt"].last_error
    assert (outside / "secret.txt").read_text() == "outside"  # neither moved nor deleted
    assert not (tmp_path / "data" / "rejected" / "link").exists()
    assert sent == []
    with transaction(sessions) as s:
        assert s.get(DocumentContent, outcome.document_id) is None  # never read


def test_a_fifo_is_rejected_without_blocking(env):
    make, inbox, sessions, _ = env
    os.mkfifo(inbox / "pipe.txt")
    [outcome] = make().take([inbox / "pipe.txt"])
    assert outcome.status is DocumentStatus.REJECTED
    assert "not a regular file" in docs(sessions)["pipe.txt"].last_error


def test_a_broker_error_after_commit_still_applies_the_after_intake_policy(env, tmp_path):
    make, inbox, sessions, _ = env
    (inbox / "a.txt").write_bytes(b"alpha")

    def broker_down(ids):
        raise ConnectionError("broker unreachable")

    [outcome] = make(after_intake=AfterIntake.MOVE, enqueue_with=broker_down).take(
        [inbox / "a.txt"])
    assert outcome.status is DocumentStatus.QUEUED  # committed: the reconciler sends it
    assert docs(sessions)["a.txt"].status is DocumentStatus.QUEUED
    assert not (inbox / "a.txt").exists()
    assert (tmp_path / "data" / "archive" / "a.txt").read_bytes() == b"alpha"


@pytest.mark.parametrize("policy", [AfterIntake.MOVE, AfterIntake.DELETE])
def test_a_file_taken_in_earlier_gets_the_after_intake_policy_too(env, tmp_path, policy):
    make, inbox, sessions, _ = env
    (inbox / "a.txt").write_bytes(b"alpha")
    make().take([inbox / "a.txt"])  # kept, e.g. by an earlier run with after_intake=keep
    assert (inbox / "a.txt").exists()
    [again] = make(after_intake=policy).take([inbox / "a.txt"])
    assert again.status is None
    assert not (inbox / "a.txt").exists()
    assert (tmp_path / "data" / "archive" / "a.txt").exists() == (policy is AfterIntake.MOVE)


@pytest.mark.parametrize("named", ["relative", "absolute"])
def test_a_moved_file_keeps_its_path_below_the_inbox_however_it_was_named(
        env, tmp_path, monkeypatch, named):
    make, inbox, _, _ = env
    (inbox / "sub").mkdir()
    (inbox / "sub" / "a.txt").write_bytes(b"alpha")
    monkeypatch.chdir(tmp_path)  # `ingest inbox/sub/a.txt`, as typed
    path = Path("inbox/sub/a.txt") if named == "relative" else inbox / "sub" / "a.txt"
    [outcome] = make(after_intake=AfterIntake.MOVE, root=path.parent).take([path])
    assert outcome.status is DocumentStatus.QUEUED
    assert (tmp_path / "data" / "archive" / "sub" / "a.txt").read_bytes() == b"alpha"


def test_a_file_of_a_folder_outside_the_inbox_keeps_its_path_below_that_folder(env, tmp_path):
    make, _, _, _ = env
    folder = tmp_path / "batch"
    for sub in ("x", "y"):
        (folder / sub).mkdir(parents=True)
        (folder / sub / "a.txt").write_bytes(sub.encode())
    make(after_intake=AfterIntake.MOVE, root=folder).take(
        [folder / "x" / "a.txt", folder / "y" / "a.txt"])
    archive = tmp_path / "data" / "archive"
    assert (archive / "x" / "a.txt").read_bytes() == b"x"
    assert (archive / "y" / "a.txt").read_bytes() == b"y"


def _folder_files_cannot_leave(monkeypatch, folder):
    """Files in `folder` cannot be renamed or removed (a read-only or immutable folder,
    which root cannot write either), though they can be read and copied."""
    import errno

    real_rename, real_unlink = os.rename, os.unlink

    def refuse(path):
        return Path(path).parent == folder

    def rename(src, dst, *args, **kwargs):
        if refuse(src):
            raise OSError(errno.EROFS, "Read-only file system", str(src))
        return real_rename(src, dst, *args, **kwargs)

    def unlink(path, *args, **kwargs):
        if refuse(path):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "unlink", unlink)


def test_a_file_that_cannot_leave_its_folder_is_not_copied_out_either(env, tmp_path,
                                                                     monkeypatch):
    # shutil.move copies when the rename is refused and then fails to remove the original:
    # every attempt used to leave one more copy (big.txt, big.1.txt, …) with no sidecar
    make, _, sessions, _ = env
    folder = tmp_path / "scrapes"
    folder.mkdir()
    (folder / "big.txt").write_bytes(b"x" * 2000)
    (folder / "a.txt").write_bytes(b"alpha")
    _folder_files_cannot_leave(monkeypatch, folder)
    for _ in range(2):
        make(root=folder, max_file_bytes=1000, after_intake=AfterIntake.MOVE).take(
            [folder / "big.txt", folder / "a.txt"])
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt", "big.txt"]
    for moved_to in ("rejected", "archive"):
        place = tmp_path / "data" / moved_to
        assert not place.exists() or list(place.rglob("*")) == [], moved_to


def test_where_a_file_moved_aside_went_is_found_by_its_document(env, tmp_path):
    from worker.intake import moved_aside

    make, inbox, sessions, _ = env
    # Given a rejected file and a duplicate of the inbox, and a rejected file taken in by
    # `ingest` from a folder elsewhere, all moved aside
    (inbox / "sub").mkdir()
    (inbox / "sub" / "big.txt").write_bytes(b"x" * 2000)
    (inbox / "a.txt").write_bytes(b"alpha")
    (inbox / "copy.txt").write_bytes(b"alpha")
    folder = tmp_path / "elsewhere" / "dump"
    folder.mkdir(parents=True)
    (folder / "big.txt").write_bytes(b"y" * 2000)
    settings = dict(max_file_bytes=1000, duplicate_policy=DuplicatePolicy.REJECT)
    taken = make(**settings).take([inbox / "sub" / "big.txt", inbox / "a.txt",
                                   inbox / "copy.txt"])
    [outside] = make(root=folder, **settings).take([folder / "big.txt"])
    rejected = tmp_path / "data" / "rejected"
    intake_settings = Settings(data_dir=tmp_path / "data", inbox=inbox)

    def place(outcome):
        with transaction(sessions) as s:
            name = s.get(Document, outcome.document_id).source_path
        return moved_aside(intake_settings, name, outcome.document_id)

    # Then each is found where it went, by its sidecar; one not moved is not found
    assert place(taken[0]) == rejected / "sub" / "big.txt"
    assert place(taken[2]) == rejected / "copy.txt"
    assert place(outside) == rejected / "big.txt"  # its path below the folder given
    assert place(taken[1]) is None


def test_a_file_that_cannot_be_moved_after_intake_is_said_so_in_what_was_tried(
        env, tmp_path, monkeypatch, caplog):
    make, inbox, _, _ = env
    (inbox / "a.txt").write_bytes(b"alpha")
    (inbox / "copy.txt").write_bytes(b"alpha")
    _folder_files_cannot_leave(monkeypatch, inbox)
    with caplog.at_level("WARNING", logger="worker.intake"):
        outcomes = make(duplicate_policy=DuplicatePolicy.REJECT).take(
            [inbox / "a.txt", inbox / "copy.txt"])
    assert [o.status for o in outcomes] == [DocumentStatus.QUEUED, DocumentStatus.DUPLICATE]
    # under the default --after keep, what failed was the duplicate's move, not a "keep"
    [warning] = [m for m in caplog.messages if "after intake" in m]
    assert warning.startswith("could not move to rejected/ 1 file after intake "
                              "(Read-only file system): copy.txt;"), warning


def test_files_that_cannot_be_moved_after_intake_are_warned_of_once_a_batch(
        env, monkeypatch, caplog):
    make, inbox, _, _ = env
    names = [f"{n}.txt" for n in range(8)]
    for n, name in enumerate(names):
        (inbox / name).write_bytes(f"article {n}".encode())
    _folder_files_cannot_leave(monkeypatch, inbox)
    with caplog.at_level("WARNING", logger="worker.intake"):
        make(after_intake=AfterIntake.MOVE).take([inbox / name for name in names])
    [warning] = [m for m in caplog.messages if "after intake" in m]
    assert warning.startswith("could not move to archive/ 8 files after intake "
                              "(Read-only file system): 0.txt, 1.txt, 2.txt, 3.txt, 4.txt, …;")


def test_without_move_rejected_a_rejected_file_stays_where_it_is(env, tmp_path):
    make, inbox, sessions, _ = env
    (inbox / "big.txt").write_bytes(b"x" * 2000)
    (inbox / "a.txt").write_bytes(b"alpha")
    (inbox / "copy.txt").write_bytes(b"alpha")
    outcomes = make(max_file_bytes=1000, duplicate_policy=DuplicatePolicy.REJECT,
                    move_rejected=False).take(
        [inbox / "big.txt", inbox / "a.txt", inbox / "copy.txt"])
    assert [o.status for o in outcomes] == [
        DocumentStatus.REJECTED, DocumentStatus.QUEUED, DocumentStatus.DUPLICATE]
    assert (inbox / "big.txt").exists() and (inbox / "copy.txt").exists()
    assert not (tmp_path / "data" / "rejected").exists()
    assert docs(sessions)["big.txt"].error_kind == "too_large"


def test_symlinks_are_judged_against_the_root_given(env, tmp_path):
    make, inbox, sessions, _ = env
    folder = tmp_path / "scrapes"
    folder.mkdir()
    (folder / "real.txt").write_bytes(b"real")
    os.symlink(folder / "real.txt", folder / "alias.txt")
    outcomes = make(root=folder).take([folder / "alias.txt", folder / "real.txt"])
    # the link stays within the folder: its target is taken in under its own name
    assert [(o.path.name, o.status) for o in outcomes] == [("real.txt", DocumentStatus.QUEUED)]
    assert (folder / "alias.txt").is_symlink()


def test_batches_are_capped_by_count_and_by_bytes(tmp_path):
    sizes = [30, 30, 30, 5, 100, 1]
    paths = []
    for n, size in enumerate(sizes):
        f = tmp_path / f"{n}.txt"
        with f.open("wb") as fh:
            fh.truncate(size * 1024 * 1024)  # sparse: the size without the disk
        paths.append(f)
    chunks = [[p.name for p in c] for c in batches(paths, max_files=10)]
    assert chunks == [["0.txt", "1.txt"], ["2.txt", "3.txt"], ["4.txt"], ["5.txt"]]
    assert [len(c) for c in batches(paths, max_files=1)] == [1] * 6


def test_ingest_says_which_file_vanished_and_records_no_rejection(tmp_path, monkeypatch,
                                                                 caplog):
    from click.testing import CliRunner

    import worker.service
    from worker.cli import main

    folder = tmp_path / "scrapes"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"alpha")
    (folder / "b.txt").write_bytes(b"beta")
    listed = worker.service.folder_files

    def listed_then_one_deleted(paths):
        files = listed(paths)
        (folder / "b.txt").unlink()  # by its writer, between the listing and the read
        return files

    monkeypatch.setattr(worker.service, "folder_files", listed_then_one_deleted)
    monkeypatch.setenv("NEWSDROP_INBOX", str(tmp_path / "inbox"))
    data = tmp_path / "data"
    with caplog.at_level("INFO", logger="worker.intake"):
        result = CliRunner().invoke(main, ["--data-dir", str(data), "ingest", str(folder)])
    assert result.exit_code == 0, result.output
    assert "taken in: 1 gone before they were read, 1 queued" in result.output
    assert f"{folder / 'b.txt'} was moved or deleted before it could be read; not taken " \
           "in" in caplog.messages
    failures = CliRunner().invoke(main, ["--data-dir", str(data), "failures"])
    assert failures.output.strip() == "no failures", failures.output


def test_ingest_of_a_path_that_does_not_exist_says_so(tmp_path):
    from click.testing import CliRunner

    from worker.cli import EXIT_USAGE, main

    missing = tmp_path / "no-such.txt"
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), "ingest",
                                       str(missing)])
    assert result.exit_code == EXIT_USAGE
    assert f"Path '{missing}' does not exist" in result.output


def test_ingest_with_keep_leaves_the_folder_alone(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from worker.cli import EXIT_FAILED, main

    folder = tmp_path / "scrapes"
    folder.mkdir()
    (folder / "big.txt").write_bytes(b"x" * 2000)
    (folder / "a.txt").write_bytes(b"alpha")
    os.symlink(folder / "a.txt", folder / "alias.txt")
    monkeypatch.setenv("NEWSDROP_MAX_FILE_BYTES", "1000")
    monkeypatch.setenv("NEWSDROP_INBOX", str(tmp_path / "inbox"))
    data = tmp_path / "data"
    result = CliRunner().invoke(main, ["--data-dir", str(data), "ingest", str(folder)])
    assert result.exit_code == EXIT_FAILED, result.output  # a file was rejected
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt", "alias.txt", "big.txt"]
    assert not (data / "rejected").exists()
    assert "1 queued, 1 rejected" in result.output


def test_ingest_interrupted_says_what_it_stored_and_exits_130(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import worker.intake
    from worker.cli import EXIT_INTERRUPTED, main

    folder = tmp_path / "scrapes"
    folder.mkdir()
    for n in range(5):
        (folder / f"{n}.txt").write_bytes(f"article {n}".encode())
    take = worker.intake.Intake.take
    calls = []

    def take_then_ctrl_c(self, paths):
        calls.append(paths)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return take(self, paths)

    monkeypatch.setattr(worker.intake.Intake, "take", take_then_ctrl_c)
    monkeypatch.setenv("NEWSDROP_BATCH_SIZE", "2")
    monkeypatch.setenv("NEWSDROP_INBOX", str(tmp_path / "inbox"))
    args = ["--data-dir", str(tmp_path / "data"), "ingest", str(folder)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == EXIT_INTERRUPTED, result.output
    assert "interrupted; taken in so far: 4 queued, and perhaps the batch" in result.output
    monkeypatch.setattr(worker.intake.Intake, "take", take)
    again = CliRunner().invoke(main, args)
    assert "taken in: 4 already taken, 1 queued" in again.output, again.output


def test_the_row_records_the_size_and_mtime_the_file_was_read_at(env):
    make, inbox, sessions, _ = env
    f = inbox / "a.txt"
    f.write_bytes(b"alpha")
    make().take([f])
    row = docs(sessions)["a.txt"]
    assert (row.size_bytes, row.source_mtime_ns) == (5, f.stat().st_mtime_ns)


def test_already_taken_knows_inbox_files_by_name_size_and_mtime_without_reading(env):
    make, inbox, sessions, _ = env
    (inbox / "sub").mkdir()
    taken, other = inbox / "sub" / "a.txt", inbox / "b.txt"
    taken.write_bytes(b"alpha")
    other.write_bytes(b"beta")
    intake = make()
    intake.take([taken])
    st = taken.stat()
    asked = [(str(taken), st.st_size, st.st_mtime_ns),
             (str(taken), st.st_size, st.st_mtime_ns + 1),  # touched since
             (str(other), 4, other.stat().st_mtime_ns)]
    assert intake.already_taken(asked) == {str(taken)}
    assert intake.already_taken([]) == set()


def test_inboxes_with_names_of_their_own_keep_their_files_of_one_name_apart(env, tmp_path):
    """Two watchers feed one database: a.txt in each, of one size and mtime, are two files."""
    make, east, sessions, _ = env
    west = tmp_path / "west"
    west.mkdir()
    for inbox, text in ((east, b"alpha"), (west, b"omega")):
        (inbox / "sub").mkdir()
        (inbox / "sub" / "a.txt").write_bytes(text)
        os.utime(inbox / "sub" / "a.txt", ns=(1_700_000_000 * 10**9,) * 2)

    def intake(inbox, name):
        settings = Settings(data_dir=tmp_path / "data", inbox=inbox, inbox_name=name)
        return Intake(settings, sessions, lambda ids: None)

    def asked(inbox):
        st = (inbox / "sub" / "a.txt").stat()
        return [(str(inbox / "sub" / "a.txt"), st.st_size, st.st_mtime_ns)]

    intake(east, "east").take([east / "sub" / "a.txt"])
    west_intake = intake(west, "west")
    assert west_intake.already_taken(asked(west)) == set()  # not east's file
    west_intake.take([west / "sub" / "a.txt"])
    assert set(docs(sessions)) == {"east/sub/a.txt", "west/sub/a.txt"}
    assert intake(east, "east").already_taken(asked(east)) == {str(east / "sub" / "a.txt")}
    # without names, the second inbox's file would pass for the first's, taken in already
    assert intake(west, "").already_taken(asked(west)) == set()
    make().take([east / "sub" / "a.txt"])  # east's file under its bare name
    assert intake(west, "").already_taken(asked(west)) == {str(west / "sub" / "a.txt")}


@pytest.mark.parametrize("name", ["a/b", "..", ".", "a b", "x" * 65, "ü"])
def test_an_inbox_name_is_one_plain_path_segment(tmp_path, name):
    with pytest.raises(ValidationError, match="is not a name of letters"):
        Settings(data_dir=tmp_path, inbox_name=name)


def test_a_name_that_is_not_utf8_is_taken_in_under_an_escaped_name(env):
    make, inbox, sessions, sent = env
    path = Path(os.fsdecode(os.fsencode(inbox) + b"/lat\xe9in.txt"))
    path.write_bytes(b"latin-1 name")
    intake = make()
    [outcome] = intake.take([path])
    assert outcome.status is DocumentStatus.QUEUED and sent == [[outcome.document_id]]
    assert list(docs(sessions)) == ["lat\\xe9in.txt"]
    st = path.stat()
    assert intake.already_taken([(str(path), st.st_size, st.st_mtime_ns)]) == {str(path)}


def test_a_rejected_file_is_not_taken_so_it_is_read_again_if_it_comes_back(env):
    make, inbox, sessions, _ = env
    big = inbox / "big.txt"
    big.write_bytes(b"x" * 2000)
    intake = make(max_file_bytes=1000)
    intake.take([big])
    moved = intake.settings.resolved_rejected_dir / "big.txt"
    os.rename(moved, big)  # raised the limit, put it back: a rename keeps its mtime
    st = big.stat()
    assert intake.already_taken([(str(big), st.st_size, st.st_mtime_ns)]) == set()


def _fstat_saying_size(monkeypatch, size):
    """os.fstat as if the file were `size` bytes long (it grew after the call)."""
    from types import SimpleNamespace

    real = os.fstat

    def fstat(fd):
        st = real(fd)
        return SimpleNamespace(st_mode=st.st_mode, st_size=size, st_mtime_ns=st.st_mtime_ns)

    monkeypatch.setattr(os, "fstat", fstat)


def test_a_file_that_grew_after_its_size_was_read_is_read_whole(tmp_path, monkeypatch):
    from worker.intake import read_file

    data = os.urandom(5000)
    (tmp_path / "a.txt").write_bytes(data)
    _fstat_saying_size(monkeypatch, 10)
    read = read_file(tmp_path / "a.txt", tmp_path, max_bytes=1_000_000)
    assert read.reject_kind is None
    assert read.content == data and read.size == 5000


def test_a_file_that_grew_past_the_limit_after_its_size_was_read_is_rejected(
        tmp_path, monkeypatch):
    from worker.intake import read_file

    (tmp_path / "a.txt").write_bytes(b"x" * 5000)
    _fstat_saying_size(monkeypatch, 10)
    read = read_file(tmp_path / "a.txt", tmp_path, max_bytes=1000)
    assert read.reject_kind == "too_large" and read.size == 1001


@pytest.mark.parametrize("args,message", [
    (["--timeout", "5"], "--timeout only applies with --wait"),
    (["--wait", "--timeout", "-1"], "-1.0 is not in the range 0.0<=x<="),
])
def test_ingest_refuses_a_timeout_it_would_ignore_or_a_negative_one(tmp_path, args, message):
    from click.testing import CliRunner

    from worker.cli import EXIT_USAGE, main

    folder = tmp_path / "scrapes"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"alpha")
    data = tmp_path / "data"
    result = CliRunner().invoke(main, ["--data-dir", str(data), "ingest", str(folder), *args])
    assert result.exit_code == EXIT_USAGE, result.output
    assert message in result.output
    assert not data.exists()  # refused before anything was taken in


def rejected_rows(sessions):
    with transaction(sessions) as s:
        return [(d.id, d.source_path, d.error_kind) for d in s.scalars(
            select(Document).where(Document.status == DocumentStatus.REJECTED)
            .order_by(Document.id))]


def test_a_file_rejected_again_is_recorded_once_and_said_to_be_rejected_earlier(env,
                                                                                 tmp_path):
    make, _, sessions, _ = env
    folder = tmp_path / "scrapes"
    folder.mkdir()
    big = folder / "big.txt"
    big.write_bytes(b"x" * 2000)
    os.symlink(tmp_path / "elsewhere.txt", folder / "dangling.txt")
    paths = [big, folder / "dangling.txt"]
    first = make(root=folder, max_file_bytes=1000, move_rejected=False).take(paths)
    assert [o.status for o in first] == [DocumentStatus.REJECTED] * 2
    again = make(root=folder, max_file_bytes=1000, move_rejected=False).take(paths)
    # the same name, size and mtime, rejected for the same reason: its row already says so
    assert [(o.status, o.document_id, o.earlier) for o in again] == [
        (DocumentStatus.REJECTED, o.document_id, True) for o in first]
    assert "over the limit" in (again[0].reason or "")
    assert len(rejected_rows(sessions)) == 2
    # changed since: another file under that name, with a row of its own
    big.write_bytes(b"y" * 3000)
    [changed] = make(root=folder, max_file_bytes=1000, move_rejected=False).take([big])
    assert changed.status is DocumentStatus.REJECTED
    # no longer over the limit (raised): taken in like any file
    [taken] = make(root=folder, max_file_bytes=10_000, move_rejected=False).take([big])
    assert taken.status is DocumentStatus.QUEUED


def test_a_rejected_file_that_cannot_leave_its_folder_is_recorded_once(env, tmp_path,
                                                                      monkeypatch):
    make, _, sessions, _ = env
    folder = tmp_path / "scrapes"
    folder.mkdir()
    (folder / "big.txt").write_bytes(b"x" * 2000)
    _folder_files_cannot_leave(monkeypatch, folder)
    for _ in range(3):  # `ingest --after move` again and again, or watcher restarts
        make(root=folder, max_file_bytes=1000, after_intake=AfterIntake.MOVE).take(
            [folder / "big.txt"])
    assert [kind for _, _, kind in rejected_rows(sessions)] == ["too_large"]
    assert (folder / "big.txt").exists()


def test_a_file_rejected_again_that_can_be_moved_now_goes_to_rejected_with_its_row(
        env, tmp_path, monkeypatch):
    # left in the inbox when it was rejected (the move failed then): moved out now, and
    # its sidecar names the row it got the first time
    make, inbox, sessions, _ = env
    (inbox / "big.txt").write_bytes(b"x" * 2000)
    with monkeypatch.context() as m:
        _folder_files_cannot_leave(m, inbox)
        [first] = make(max_file_bytes=1000).take([inbox / "big.txt"])
    [again] = make(max_file_bytes=1000).take([inbox / "big.txt"])
    assert (again.status, again.earlier) == (DocumentStatus.REJECTED, True)
    assert again.document_id == first.document_id
    rejected = tmp_path / "data" / "rejected"
    assert sorted(p.name for p in rejected.iterdir()) == ["big.txt", "big.txt.error.json"]
    sidecar = json.loads((rejected / "big.txt.error.json").read_text())
    assert sidecar["document_id"] == first.document_id
    assert len(rejected_rows(sessions)) == 1


def test_ingest_of_a_rejected_file_again_says_it_was_rejected_earlier(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from worker.cli import EXIT_FAILED, main

    folder = tmp_path / "scrapes"
    folder.mkdir()
    (folder / "huge.txt").write_bytes(b"x" * 2000)
    monkeypatch.setenv("NEWSDROP_MAX_FILE_BYTES", "1000")
    monkeypatch.setenv("NEWSDROP_INBOX", str(tmp_path / "inbox"))
    args = ["--data-dir", str(tmp_path / "data")]
    first = CliRunner().invoke(main, [*args, "ingest", str(folder)])
    assert first.exit_code == EXIT_FAILED, first.output
    assert "taken in: 1 rejected" in first.output
    again = CliRunner().invoke(main, [*args, "ingest", str(folder)])
    assert again.exit_code == EXIT_FAILED, again.output  # still rejected, as with --wait
    assert "taken in: 1 rejected earlier" in again.output, again.output
    failures = CliRunner().invoke(main, [*args, "failures"])
    assert failures.output.count("huge.txt") == 1, failures.output


def test_ingest_leaves_a_file_it_cannot_read_for_now_to_the_next_run(tmp_path, monkeypatch):
    import errno

    from click.testing import CliRunner

    from tests.conftest import fail_reads_of
    from worker.cli import EXIT_FAILED, main

    folder = tmp_path / "scrapes"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"alpha")
    (folder / "b.txt").write_bytes(b"beta")
    fail_reads_of(monkeypatch, "a.txt", [errno.EIO])
    monkeypatch.setenv("NEWSDROP_INBOX", str(tmp_path / "inbox"))
    args = ["--data-dir", str(tmp_path / "data"), "ingest", str(folder)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == EXIT_FAILED, result.output
    assert "taken in: 1 not read for now, 1 queued" in result.output
    assert "1 file could not be read for now" in result.output
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert "taken in: 1 already taken, 1 queued" in again.output


def test_a_file_ingested_from_outside_the_inbox_is_known_by_its_absolute_path(
        tmp_path, monkeypatch):
    from click.testing import CliRunner

    from worker.cli import main

    folder = tmp_path / "scrapes"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"alpha")
    monkeypatch.setenv("NEWSDROP_INBOX", str(tmp_path / "inbox"))
    monkeypatch.setenv("NEWSDROP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    first = CliRunner().invoke(main, ["ingest", "scrapes"])
    assert "taken in: 1 queued" in first.output, first.output
    monkeypatch.chdir(folder)
    for again in (".", str(folder)):  # the same file, named from elsewhere
        result = CliRunner().invoke(main, ["ingest", again])
        assert "taken in: 1 already taken" in result.output, (again, result.output)
    shown = CliRunner().invoke(main, ["show", "1", "--json"])
    assert json.loads(shown.output)["document"]["source_path"] == str(folder / "a.txt")


def test_an_inbox_file_named_by_a_relative_path_is_known_by_its_name_in_the_inbox(
        tmp_path, monkeypatch):
    from click.testing import CliRunner

    from worker.cli import main

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.txt").write_bytes(b"alpha")
    os.symlink(inbox, tmp_path / "link")
    monkeypatch.setenv("NEWSDROP_INBOX", str(inbox))
    monkeypatch.setenv("NEWSDROP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(inbox)
    first = CliRunner().invoke(main, ["ingest", "a.txt"])
    assert "taken in: 1 queued" in first.output, first.output
    for again in (str(inbox), "../link/a.txt", str(tmp_path / "link")):
        result = CliRunner().invoke(main, ["ingest", again])
        assert "taken in: 1 already taken" in result.output, (again, result.output)
    shown = CliRunner().invoke(main, ["show", "1", "--json"])
    assert json.loads(shown.output)["document"]["source_path"] == "a.txt"


def test_reading_a_file_replaced_by_a_folder_leaves_no_descriptor_open(tmp_path):
    from worker.intake import read_file

    folder = tmp_path / "x"
    folder.mkdir()
    open_before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        assert read_file(folder, tmp_path, 1000).reject_kind == "vanished"
    assert len(os.listdir("/proc/self/fd")) == open_before


def test_ingest_follows_a_symlinked_folder_or_file_it_is_given(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from worker.cli import main

    real = tmp_path / "real"
    real.mkdir()
    (real / "a.txt").write_bytes(b"alpha")
    (real / "b.txt").write_bytes(b"beta")
    os.symlink(real, tmp_path / "dirlink")
    os.symlink(real / "b.txt", tmp_path / "filelink.txt")
    monkeypatch.setenv("NEWSDROP_INBOX", str(tmp_path / "inbox"))
    monkeypatch.setenv("NEWSDROP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    linked_file = CliRunner().invoke(main, ["ingest", "filelink.txt"])
    assert "taken in: 1 queued" in linked_file.output, linked_file.output
    linked_folder = CliRunner().invoke(main, ["ingest", "dirlink"])
    assert "taken in: 1 already taken, 1 queued" in linked_folder.output, linked_folder.output


def test_ingest_of_a_named_symlink_never_moves_or_deletes_its_target(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from worker.cli import main

    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "real.txt").write_bytes(b"alpha")
    (tmp_path / "named").mkdir()
    os.symlink(tmp_path / "elsewhere" / "real.txt", tmp_path / "named" / "link.txt")
    (tmp_path / "named" / "b.txt").write_bytes(b"beta")
    monkeypatch.setenv("NEWSDROP_INBOX", str(tmp_path / "inbox"))
    monkeypatch.setenv("NEWSDROP_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(main, ["ingest", str(tmp_path / "named" / "link.txt"),
                                       str(tmp_path / "named" / "b.txt"), "--after", "delete"])
    assert "taken in: 2 queued" in result.output, result.output
    assert (tmp_path / "elsewhere" / "real.txt").read_bytes() == b"alpha"
    assert (tmp_path / "named" / "link.txt").is_symlink()
    assert not (tmp_path / "named" / "b.txt").exists()  # --after applies to the others


def test_a_file_reached_through_a_symlinked_folder_in_the_inbox_is_known_by_its_real_name(
        tmp_path, monkeypatch):
    from click.testing import CliRunner

    from worker.cli import main

    inbox = tmp_path / "inbox"
    (inbox / "other").mkdir(parents=True)
    (inbox / "other" / "x.txt").write_bytes(b"alpha")
    os.symlink(inbox / "other", inbox / "sublink")
    monkeypatch.setenv("NEWSDROP_INBOX", str(inbox))
    monkeypatch.setenv("NEWSDROP_DATA_DIR", str(tmp_path / "data"))
    first = CliRunner().invoke(main, ["ingest", str(inbox / "other")])
    assert "taken in: 1 queued" in first.output, first.output
    again = CliRunner().invoke(main, ["ingest", str(inbox / "sublink")])
    assert "taken in: 1 already taken" in again.output, again.output


def test_newsdrop_own_files_are_its_database_with_its_journals_and_its_queue(tmp_path):
    from worker.intake import OwnFiles
    from worker.settings import Settings

    own = OwnFiles(Settings(data_dir=tmp_path / "data",
                            database_url=f"sqlite+pysqlite:///{tmp_path}/db/news.sqlite"))
    assert tmp_path / "db" / "news.sqlite" in own
    assert tmp_path / "db" / "news.sqlite-wal" in own
    assert tmp_path / "data" / "broker" / "queue" / "x.msg" in own
    for other in ("db/news.sqlite.txt", "db/news.sqlite-notes", "data/news.sqlite",
                  "data/archive/a.txt", "data/story.txt"):
        assert tmp_path / other not in own
    # another newsdrop's data folder: its database, and its queue beside it
    other = tmp_path / "elsewhere" / "newsdrop-data"
    (other / "broker" / "queue").mkdir(parents=True)
    (other / "newsdrop.db").write_bytes(b"SQLite format 3\x00")
    assert other / "newsdrop.db" in own and other / "newsdrop.db-wal" in own
    assert other / "broker" / "queue" / "x.msg" in own
    assert tmp_path / "elsewhere" / "broker" / "x.txt" not in own  # no database beside it
