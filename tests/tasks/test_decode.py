"""decode: bytes to (text, encoding, format), and the errors a person can act on."""

from __future__ import annotations

import codecs
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.decode import decode, delete_ascii, detect_format
from tasks.document import InputFormat, RawDocument
from tasks.errors import BinaryInput, EmptyDocument, TooLarge, UndecodableInput

MAX = 1_000_000


def run(content: bytes, name: str = "doc.txt") -> tuple[str, str, InputFormat]:
    return decode(RawDocument(content, name), max_bytes=MAX)


def test_utf8_text_is_returned_as_is() -> None:
    text, encoding, fmt = run("Gov’t reviewing ties — café\n".encode())
    assert (text, encoding, fmt) == ("Gov’t reviewing ties — café\n", "utf-8", InputFormat.TEXT)


def test_windows_line_endings_are_normalised() -> None:
    text, _, _ = run(b"first line\r\nsecond line\r\n\r\nthird\rfourth")
    assert text == "first line\nsecond line\n\nthird\nfourth"


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n  "])
def test_empty_or_whitespace_only_is_an_empty_document(content: bytes) -> None:
    with pytest.raises(EmptyDocument):
        run(content)


def test_a_png_named_txt_is_binary() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64))
    with pytest.raises(BinaryInput, match="PNG"):
        run(png, "photo.txt")


def test_a_zip_named_txt_is_binary() -> None:
    with pytest.raises(BinaryInput, match="ZIP"):
        run(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20, "article.txt")


def test_random_bytes_with_nuls_are_binary() -> None:
    with pytest.raises(BinaryInput):
        run(bytes(range(256)) * 8)


def test_over_the_size_limit_is_too_large() -> None:
    with pytest.raises(TooLarge, match="over the limit"):
        decode(RawDocument(b"x" * 101), max_bytes=100)


def test_cp1252_bytes_fall_back_to_detection() -> None:
    original = "Le café « naïve » coûte “cher” — dit-il, à Genève, près du lac."
    text, encoding, _ = run(original.encode("cp1252"))
    assert text == original
    assert encoding == "cp1252"


UTF8_PAGE = ("Gov’t reviewing ties — the café’s “naïve” owners said. " * 20).encode()


def test_a_stray_cp1252_byte_in_utf8_text_is_repaired_not_redetected() -> None:
    text, encoding, _ = run(UTF8_PAGE[:100] + b"It\x92s here. " + UTF8_PAGE[100:])
    assert encoding == "utf-8"
    assert text == UTF8_PAGE[:100].decode() + "It’s here. " + UTF8_PAGE[100:].decode()


def test_a_short_utf8_page_with_a_stray_cp1252_byte_stays_utf8() -> None:
    # five curly quotes and one cp1252 apostrophe: no code page reads that right
    words = "The council voted on Tuesday to rebuild the old bridge after a long debate. " * 4
    original = f"{words}“We’ve waited long enough,” she said of the “plan”. "
    data = original.encode() + b"The council\x92s projects wait. " + words.encode()
    text, encoding, _ = run(data)
    assert encoding == "utf-8"
    assert text == original + "The council’s projects wait. " + words


@pytest.mark.parametrize("cut", ["’".encode()[:-1], "é".encode()[:-1]])
@pytest.mark.parametrize("after", [b"", b" and the rest."])
def test_utf8_text_cut_mid_character_keeps_the_rest(cut: bytes, after: bytes) -> None:
    text, encoding, _ = run(UTF8_PAGE + cut + after)
    assert encoding == "utf-8"
    assert text == UTF8_PAGE.decode() + "\ufffd" + after.decode()


def test_legacy_text_with_one_accidental_utf8_sequence_is_still_detected() -> None:
    original = "Le café « naïve » coûte cher à Genève, près du lac, où l’été est doux. " * 5
    data = original.encode("cp1252") + "É".encode()  # one valid UTF-8 pair among many
    text, encoding, _ = run(data)
    assert encoding == "cp1252"
    assert text.startswith(original)


def test_latin1_german_text_decodes() -> None:
    original = "Der Bürgermeister äußerte sich über die Änderungen in München und Köln."
    text, _, _ = run(original.encode("latin-1"))
    assert text == original


@pytest.mark.parametrize(
    ("bom", "codec", "name"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
        (codecs.BOM_UTF8, "utf-8", "utf-8"),
    ],
)
def test_byte_order_marks_decide_the_encoding(bom: bytes, codec: str, name: str) -> None:
    text, encoding, _ = run(bom + "Grüße\r\naus Zürich".encode(codec))
    assert text == "Grüße\naus Zürich"
    assert encoding == name


def test_bom_with_broken_payload_is_undecodable() -> None:
    with pytest.raises(UndecodableInput, match="byte-order mark"):
        run(codecs.BOM_UTF16_LE + b"a\x00b")


def test_utf16_without_bom_is_recognised() -> None:
    text, encoding, _ = run("plain ascii text in utf-16".encode("utf-16-le"))
    assert text == "plain ascii text in utf-16"
    assert encoding == "utf-16"


def test_html_is_detected_from_content_not_name() -> None:
    page = b"<!DOCTYPE html>\n<html><head><title>x</title></head><body><p>Hi</p></body></html>"
    assert run(page, "dump.txt")[2] is InputFormat.HTML


def test_tag_dense_fragment_is_html() -> None:
    fragment = "".join(f"<div class='c{i}'><a href='/x{i}'>item {i}</a></div>\n" for i in range(20))
    assert detect_format(fragment, "") is InputFormat.HTML


def test_text_with_a_stray_tag_stays_text() -> None:
    text = "A headline\n\nThe body mentions <b>bold</b> once, and that is all.\n"
    assert detect_format(text, "page.html") is InputFormat.TEXT


def test_an_html_page_declaring_its_legacy_charset_is_read_in_it():
    body = "<p>Москва — столица России, крупнейший город страны.</p>" * 3
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; '
            'charset=windows-1251"></head><body>' + body + "</body></html>")
    text, encoding, fmt = decode(RawDocument(page.encode("cp1251"), name="p.html"),
                                 max_bytes=1 << 20)
    assert encoding == "cp1251"
    assert "Москва — столица России" in text
    assert fmt is InputFormat.HTML


def test_text_mostly_of_control_characters_is_binary() -> None:
    with pytest.raises(BinaryInput, match="mostly control characters"):
        run(b"A line of words\n" + b"\x01\x02\x1b\x7f" * 10)


def test_a_few_control_characters_and_form_feeds_are_still_text() -> None:
    page = ("Title\n\f" + "A sentence of the article body. " * 20 + "\x1b[0m\n").encode()
    text, _, fmt = run(page)
    assert "\x1b[0m" in text and fmt is InputFormat.TEXT


@given(st.text(alphabet=st.characters(max_codepoint=0x1F600, exclude_categories=()), max_size=60),
       st.sets(st.integers(min_value=0, max_value=127)))
def test_delete_ascii_deletes_exactly_those_characters(text: str, codes: set[int]) -> None:
    pattern = "[" + "".join(re.escape(chr(c)) for c in codes) + "]" if codes else "(?!)"
    assert delete_ascii(text, bytes(sorted(codes))) == re.sub(pattern, "", text)
