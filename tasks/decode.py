"""Bytes to text: size and binary checks, encoding detection, format detection.

Order of evidence for the encoding: a byte-order mark; strict UTF-8 (most of the
web, and it almost never decodes non-UTF-8 bytes by accident), or UTF-8 with a few
broken bytes among many valid multi-byte characters (repaired); an HTML document's
own declared charset (`<meta charset>`, `http-equiv`, an XML declaration), found by
BeautifulSoup's `EncodingDetector`; then statistical detection (charset-normalizer) for the legacy
single-byte encodings (Latin-1, cp1252, …) that scrapers still produce.
"""

from __future__ import annotations

import codecs
import re

from tasks.document import InputFormat, RawDocument
from tasks.errors import BinaryInput, EmptyDocument, TooLarge, UndecodableInput

# Longest BOM first: the UTF-32-LE mark starts with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Signatures of file types people drop into an inbox by mistake.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "an executable (ELF)"),
    (b"MZ", "a Windows executable"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"RIFF", "a RIFF media file (WAV/AVI/WebP)"),
    (b"OggS", "an Ogg media file"),
    (b"ID3", "an MP3 file"),
    (b"\x00\x00\x00\x18ftyp", "an MP4 video"),
    (b"\x00\x00\x00\x20ftyp", "an MP4 video"),
    (b"wOFF", "a web font"),
)

_WEAK_MAGIC = frozenset({b"MZ", b"RIFF", b"ID3", b"BZh", b"OggS", b"wOFF"})

#: bytes looked at for NULs/control characters and for the HTML sniff
_SNIFF_BYTES = 8192
#: share of control characters (other than tab/newline/CR/FF) above which text is binary
_MAX_CONTROL_SHARE = 0.05
#: text that fails strict UTF-8 is still UTF-8 (repaired) when it holds at least this
#: many valid multi-byte characters per broken byte: text in a legacy code page has a
#: broken byte at nearly every non-ASCII letter and a valid sequence only by accident
#: ("С»" in cp1251), so even a short UTF-8 page with five curly quotes and one stray
#: cp1252 apostrophe is told apart from it
UTF8_REPAIR_MIN_RATIO = 1
#: charset-normalizer looks at this many bytes at most, so huge inputs stay cheap
_DETECT_BYTES = 256 * 1024

#: control characters other than tab, newlines (LF, CR) and form feed (codes, as bytes)
CONTROL_CODES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])
#: what is dropped from text before it is parsed or stored: form feeds too (PostgreSQL
#: refuses NUL in text, and none of them belongs in an article)
DROPPED_CONTROL_CODES = CONTROL_CODES + b"\x0c"
_HTML_START = re.compile(r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b",
                         re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]{0,500})?/?>|<!--")
_HTML_NAME = re.compile(r"\.(?:x?html?|php|aspx?|jsp)$", re.IGNORECASE)

#: tags in the first few KB that make a page HTML whatever its name says
_MIN_TAGS_FOR_HTML = 12
#: share of the sniffed characters inside tags above which markup dominates
_MIN_TAG_SHARE = 0.25


def decode(raw: RawDocument, *, max_bytes: int) -> tuple[str, str, InputFormat]:
    """Turn a document's bytes into (text, encoding, format), or raise a PermanentError."""
    data = raw.content
    if len(data) > max_bytes:
        raise TooLarge(
            f"the file is {len(data):,} bytes, over the limit of {max_bytes:,} bytes"
        )
    if not data.strip():
        raise EmptyDocument("the file is empty" if not data else "the file holds only whitespace")
    text, encoding = _to_text(data)
    if encoding == "utf-8" and b"\r" not in data and b"\x00" not in data:
        # UTF-8 writes CR and NUL only as those bytes: searching the bytes (memchr) is
        # cheaper than searching the decoded text, and finds neither here
        text = text.removeprefix("\ufeff")
    else:
        text = _normalise_newlines(text)
    if not text.strip():
        raise EmptyDocument("the file holds only whitespace")
    return text, encoding, detect_format(text, raw.name)


def _to_text(data: bytes) -> tuple[str, str]:
    """Decode with the best-supported encoding, raising BinaryInput/UndecodableInput."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding), encoding.removesuffix("-le").removesuffix(
                    "-be"
                )
            except UnicodeDecodeError as exc:
                raise UndecodableInput(
                    f"the file starts with a {encoding} byte-order mark but is not valid "
                    f"{encoding} (bad bytes at offset {exc.start})"
                ) from exc
    kind = _binary_kind(data)
    if kind:
        raise BinaryInput(f"the file is {kind}, not text or HTML")
    head = data[:_SNIFF_BYTES]
    if b"\x00" in head:
        utf16 = _bomless_utf16(data)
        if utf16 is not None:
            return utf16
        raise BinaryInput("the file contains NUL bytes: it looks binary, not text or HTML")
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        repaired = _mostly_utf8(data)
        text, encoding = (repaired, "utf-8") if repaired is not None else _decode_legacy(data)
    sample = text[:_SNIFF_BYTES]
    controls = len(sample) - len(delete_ascii(sample, CONTROL_CODES))
    if sample and controls / len(sample) > _MAX_CONTROL_SHARE:
        raise BinaryInput("the file is mostly control characters: it looks binary, not text")
    return text, encoding


def delete_ascii(text: str, chars: bytes) -> str:
    """`text` without the ASCII characters whose codes are in `chars`.

    No byte below 0x80 is ever part of a longer character in UTF-8, so deleting such
    bytes from the encoding deletes exactly those characters, in one pass in C; a regex
    steps through the text a character at a time, about ten times slower.
    """
    encoded = text.encode("utf-8", "surrogatepass")  # lone surrogates pass through
    kept = encoded.translate(None, chars)
    return text if len(kept) == len(encoded) else kept.decode("utf-8", "surrogatepass")


def _binary_kind(data: bytes) -> str | None:
    """Name of a known binary file type the bytes start with, if any."""
    has_nul = b"\x00" in data[:_SNIFF_BYTES]
    for magic, kind in _MAGIC:
        # A few signatures are short enough to begin a text file ("MZ", "ID3"): trust
        # them only when the bytes also hold NULs, which text never does.
        if data.startswith(magic) and (has_nul or magic not in _WEAK_MAGIC):
            return kind
    return None


def _bomless_utf16(data: bytes) -> tuple[str, str] | None:
    """Decode UTF-16 text written without a BOM (every other byte NUL for ASCII), if it is."""
    head = data[:_SNIFF_BYTES]
    even_nuls = head[0::2].count(0)
    odd_nuls = head[1::2].count(0)
    half = max(1, len(head) // 2)
    for encoding, nuls, other in (("utf-16-le", odd_nuls, even_nuls),
                                  ("utf-16-be", even_nuls, odd_nuls)):
        if nuls / half > 0.3 and other / half < 0.05:
            try:
                return data.decode(encoding), "utf-16"
            except UnicodeDecodeError:
                return None
    return None


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 text with a few broken bytes, repaired; None when the bytes are not that.

    Scrapes are cut mid-character and pasted together from pages in other encodings: one
    stray cp1252 quote (0x92) or a truncated last character should not send a page of
    valid UTF-8 to detection, which reads it all in some code page. When the valid
    multi-byte characters are at least as many as the broken bytes, the text is UTF-8: a
    stray byte is read as cp1252 (what it almost always is), a character cut short becomes
    U+FFFD. Text in a legacy code page forms valid UTF-8 sequences only by accident.
    """
    loose = data.decode("utf-8", "surrogateescape")
    broken = len(_ESCAPED_BYTE.findall(loose))
    multibyte = len(loose) - len(loose.encode("ascii", "ignore")) - broken
    if multibyte < UTF8_REPAIR_MIN_RATIO * broken:
        return None
    return data.decode("utf-8", _REPAIR_HANDLER)


def _repair_byte(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: a stray byte that cannot start a UTF-8 character (cp1252's
    curly quotes and dashes are 0x80-0x9F) as cp1252; a character cut short, which
    begins with a byte that can, as U+FFFD."""
    assert isinstance(exc, UnicodeDecodeError)
    bad = exc.object[exc.start:exc.end]
    if len(bad) == 1 and not 0xC2 <= bad[0] <= 0xF4:
        return bad.decode("cp1252", "replace"), exc.end
    return "\ufffd", exc.end


_REPAIR_HANDLER = "newsdrop.utf8-repair"
codecs.register_error(_REPAIR_HANDLER, _repair_byte)
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def _decode_legacy(data: bytes) -> tuple[str, str]:
    """Decode non-UTF-8 bytes: an HTML-declared charset, else statistical detection."""
    from bs4.dammit import EncodingDetector

    name = EncodingDetector.find_declared_encoding(data[:_SNIFF_BYTES], is_html=True)
    if name:
        try:
            codec = codecs.lookup(name).name
            if codec not in ("utf-8", "utf-16", "utf-32"):
                return data.decode(codec), codec
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong or unknown declaration: fall back to detection
    from charset_normalizer import from_bytes  # imported late: it is slow to import

    matches = from_bytes(data[:_DETECT_BYTES])
    best = matches.best()
    if best is None or best.encoding is None:
        raise UndecodableInput(
            "the file is not valid UTF-8 and its encoding could not be recognised"
        )
    codec = codecs.lookup(best.encoding).name
    # Short samples tie between several single-byte code pages; Western European
    # cp1252 is by far the commonest in scraped news, so it wins a tie. Latin-1 is
    # read as cp1252 too: the same letters, but 0x80-0x9F are curly quotes and dashes.
    tied = {codecs.lookup(m.encoding).name for m in matches if m.chaos <= best.chaos + 0.01}
    if codec in ("latin-1", "iso8859-1") or "cp1252" in tied:
        codec = "cp1252"
    for candidate in (codec, best.encoding):
        try:
            return data.decode(candidate), candidate
        except UnicodeDecodeError as exc:
            error = exc
    raise UndecodableInput(
        f"the file is not valid UTF-8 and does not decode as the detected "
        f"{best.encoding} either (bad bytes at offset {error.start})"
    )


def _normalise_newlines(text: str) -> str:
    """Windows and old-Mac line endings to \\n; strip a leading BOM and stray NULs."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text.removeprefix("\ufeff")


def detect_format(text: str, name: str = "") -> InputFormat:
    """HTML if the text starts like a document or is dense with tags; the name is a hint."""
    head = text[:_SNIFF_BYTES]
    if _HTML_START.match(head):
        return InputFormat.HTML
    tags = _TAG.findall(head)
    if len(tags) >= _MIN_TAGS_FOR_HTML:
        tag_chars = sum(len(t) for t in tags)
        if tag_chars / max(1, len(head.strip())) >= _MIN_TAG_SHARE:
            return InputFormat.HTML
    if _HTML_NAME.search(name) and len(tags) >= 3:
        return InputFormat.HTML
    return InputFormat.TEXT
