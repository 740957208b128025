"""What the watcher asks the database: which inbox files were taken in already."""

from __future__ import annotations

from sqlalchemy import select

from db import pipeline
from db.engine import reading, transaction
from db.models import Document


def take_many(db_sessions, *items):
    with transaction(db_sessions) as s:
        return pipeline.take_in_many(s, list(items))


def taken(db_sessions, *files):
    with reading(db_sessions) as s:
        return pipeline.taken_files(s, files)


def test_a_file_is_known_by_its_name_size_and_mtime(db_sessions):
    take_many(db_sessions, pipeline.Incoming("a" * 64, "sub/a.txt", b"hello", 111),
              pipeline.Incoming("b" * 64, "b.txt", b"bye", 222))
    assert taken(db_sessions, ("sub/a.txt", 5, 111), ("b.txt", 3, 222)) == {
        ("sub/a.txt", 5, 111), ("b.txt", 3, 222)}
    # another mtime, another size, another name: not that file
    assert taken(db_sessions, ("sub/a.txt", 5, 112), ("sub/a.txt", 6, 111),
                 ("a.txt", 5, 111)) == set()


def test_a_duplicate_is_known_too(db_sessions):
    take_many(db_sessions, pipeline.Incoming("a" * 64, "a.txt", b"hello", 1),
              pipeline.Incoming("a" * 64, "copy.txt", b"hello", 2))
    assert taken(db_sessions, ("copy.txt", 5, 2)) == {("copy.txt", 5, 2)}


def test_a_rejected_file_is_not_known_so_it_is_read_again_when_it_comes_back(db_sessions):
    with transaction(db_sessions) as s:
        pipeline.record_rejected(s, source_path="big.txt", reason="too big",
                                 kind="too_large", size_bytes=5, source_mtime_ns=1)
    assert taken(db_sessions, ("big.txt", 5, 1)) == set()


def test_a_file_rejected_before_is_found_by_name_size_mtime_and_kind(db_sessions):
    with transaction(db_sessions) as s:
        big = pipeline.record_rejected(s, source_path="big.txt", reason="too big",
                                       kind="too_large", size_bytes=5, source_mtime_ns=1)
        link = pipeline.record_rejected(s, source_path="link.txt", reason="outside",
                                        kind="symlink_outside", source_mtime_ns=2)
        pipeline.record_rejected(s, source_path="old.txt", reason="too big",
                                 kind="too_large", size_bytes=5)

    def found(path, kind, size, mtime):
        with reading(db_sessions) as s:
            return pipeline.find_rejected(s, source_path=path, kind=kind, size_bytes=size,
                                          source_mtime_ns=mtime)

    assert found("big.txt", "too_large", 5, 1) == big
    assert found("link.txt", "symlink_outside", None, 2) == link  # no size: none read
    # another size, mtime, reason or name: another file, or another verdict
    assert found("big.txt", "too_large", 6, 1) is None
    assert found("big.txt", "too_large", 5, 3) is None
    assert found("big.txt", "unreadable", 5, 1) is None
    assert found("link.txt", "symlink_outside", 7, 2) is None
    assert found("other.txt", "too_large", 5, 1) is None
    # a row recorded before rejected rows had an mtime, or a file gone: nothing to match
    assert found("old.txt", "too_large", 5, None) is None


def test_rows_from_before_mtimes_were_recorded_match_nothing(db_sessions):
    take_many(db_sessions, pipeline.Incoming("a" * 64, "a.txt", b"hello"))
    assert taken(db_sessions, ("a.txt", 5, 0)) == set()


def test_many_names_at_once_in_one_lookup(db_sessions):
    items = [pipeline.Incoming(f"{n:064x}", f"f{n}.txt", b"x" * n, n) for n in range(1, 1001)]
    take_many(db_sessions, *items)
    asked = [(f"f{n}.txt", n, n) for n in range(1, 1001)] + [("missing.txt", 1, 1)]
    assert taken(db_sessions, *asked) == set(asked[:-1])
    # an odd count is padded to a power of two with a name already asked
    assert taken(db_sessions, *asked[:3]) == set(asked[:3])


def test_a_file_seen_again_with_a_new_mtime_is_known_at_that_mtime(db_sessions):
    [first] = take_many(db_sessions, pipeline.Incoming("a" * 64, "a.txt", b"hello", 1))
    again = pipeline.Incoming("a" * 64, "a.txt", b"hello", 2)
    # same bytes, same name: nothing new, and the document it was taken in as
    assert take_many(db_sessions, again) == [pipeline.IntakeResult(first.document_id, None)]
    with transaction(db_sessions) as s:
        pipeline.note_seen_again(s, [again])
    assert taken(db_sessions, ("a.txt", 5, 2)) == {("a.txt", 5, 2)}
    with reading(db_sessions) as s:
        assert s.scalars(select(Document.source_mtime_ns)).all() == [2]


def test_take_in_records_the_mtime_of_originals_and_duplicates(db_sessions):
    with transaction(db_sessions) as s:
        pipeline.take_in(s, sha256="a" * 64, source_path="a.txt", content=b"hello",
                         source_mtime_ns=7)
        pipeline.take_in(s, sha256="a" * 64, source_path="copy.txt", content=b"hello",
                         source_mtime_ns=8)
    assert taken(db_sessions, ("a.txt", 5, 7), ("copy.txt", 5, 8)) == {
        ("a.txt", 5, 7), ("copy.txt", 5, 8)}
