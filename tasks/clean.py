"""The clean stage: bytes in, every block of the document labelled out.

`clean` decodes the input, sends HTML to the HTML cleaner (tasks.html) and text
dumps to the line classifier (tasks.text_blocks), then applies what the corpus has
learnt: lines that recur across many documents of the same source are boilerplate.

Corpus learning works in two halves. After a document is cleaned, the glue stores
`line_fingerprints(doc)` against `doc.source_key`; the database counts in how many
documents of that source each fingerprint occurs. When a later document is cleaned,
`known_boilerplate(source_key)` returns the fingerprints seen in at least
`CleanOptions.boilerplate_min_docs` documents, and those lines are dropped, unless
most of the document's sentences recur: then it is a copy of a document seen before,
and its lines recur because it does (`text_blocks.seen_before`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from tasks import cues
from tasks.data_files import data_kind
from tasks.decode import decode
from tasks.document import MAX_FILE_BYTES, BlockLabel, CleanedDoc, InputFormat, RawDocument
from tasks.errors import NotAnArticle, TooLarge
from tasks.text_blocks import RECURRING_BODY_MIN_WORDS, classify_text, seen_before
from tasks.text_lines import ends_like_sentence, normalise_line
from tasks.text_lines import fingerprint as _fingerprint

__all__ = [
    "DEFAULT_CLEAN_OPTIONS",
    "CleanOptions",
    "clean",
    "fingerprint",
    "line_fingerprints",
]

KnownBoilerplate = Callable[[str], Collection[str]]


@dataclass(frozen=True, slots=True)
class CleanOptions:
    """Limits and thresholds of the clean stage (units in the names)."""

    #: inputs above this size fail as TooLarge before any parsing
    max_bytes: int = MAX_FILE_BYTES
    #: a text dump with more non-blank lines than this is not an article (TooLarge)
    max_blocks: int = 50_000
    #: per-line analysis looks at this many characters at most (the text is kept whole)
    max_line_chars: int = 20_000
    #: HTML element budget passed to the HTML cleaner (deeply nested/huge pages stop there)
    max_html_nodes: int = 200_000
    #: a fingerprint must occur in this many documents of a source to count as boilerplate;
    #: the lookup applies it, clean only quotes it in reasons
    boilerplate_min_docs: int = 5
    #: lines longer than this many words are not fingerprinted (body paragraphs are unique)
    fingerprint_max_words: int = 60
    #: fingerprints shorter than this many characters say too little to count
    fingerprint_min_chars: int = 4


DEFAULT_CLEAN_OPTIONS = CleanOptions()


def fingerprint(line: str) -> str:
    """Normalised form of a line for recurrence counts: lowercase, digits and punctuation folded.

    "Posted 12 May 2019 — Share!" and "posted 3 june 2020 share" differ only in the
    digits and the month, so dates still differ, but counters, ids and punctuation do not.
    `text_lines.fingerprint` caches short lines: the lines worth fingerprinting are the
    ones a site repeats on every page (menus, footers, prompts), and a page's lines are
    fingerprinted again when its counts are stored.
    """
    return _fingerprint(normalise_line(line))


def line_fingerprints(
    doc: CleanedDoc, *, options: CleanOptions = DEFAULT_CLEAN_OPTIONS
) -> set[str]:
    """Fingerprints worth counting from one document.

    Every block is counted whatever its label, so junk the rules missed (labelled
    BODY) is learnt too. Only short-to-medium lines are counted: templates are short
    (menus, prompts, footers), while long paragraphs are unique to their article and
    would only bloat the counts. Titles are left out: a source's articles rarely
    share one, and a re-ingested article must not teach its own title as boilerplate.
    """
    out: set[str] = set()
    for block in doc.blocks:
        if block.label is BlockLabel.TITLE:
            continue
        # split no further than one word past the limit: paragraphs run longer
        if len(block.text.split(None, options.fingerprint_max_words)) \
                > options.fingerprint_max_words:
            continue
        fp = fingerprint(block.text)
        if len(fp) >= options.fingerprint_min_chars:
            out.add(fp)
    return out


def clean(
    raw: RawDocument,
    *,
    options: CleanOptions = DEFAULT_CLEAN_OPTIONS,
    known_boilerplate: KnownBoilerplate | None = None,
) -> CleanedDoc:
    """Decode a document and label each of its blocks; raises PermanentError subclasses."""
    text, encoding, fmt = decode(raw, max_bytes=options.max_bytes)
    if fmt is InputFormat.HTML:
        # Imported here so the text path works without the HTML stack loaded.
        from tasks.html import html_to_cleaned

        doc = html_to_cleaned(text, encoding=encoding, max_nodes=options.max_html_nodes)
        if known_boilerplate is not None:
            _drop_known_html(doc, known_boilerplate(doc.source_key), options)
        return doc
    return _clean_text(text, encoding, options, known_boilerplate)


def _clean_text(
    text: str, encoding: str, options: CleanOptions, known_boilerplate: KnownBoilerplate | None
) -> CleanedDoc:
    """Label the lines of a text dump."""
    # Fewer lines than the limit hold no more non-blank lines than it: only a text with
    # that many lines has them counted.
    if text.count("\n") < options.max_blocks:
        non_blank = 0
    else:
        non_blank = sum(1 for line in text.split("\n") if line.strip())
    if non_blank > options.max_blocks:
        raise TooLarge(
            f"the text has {non_blank:,} non-blank lines, over the limit of "
            f"{options.max_blocks:,}: not an article"
        )
    kind = data_kind(text)
    if kind:
        raise NotAnArticle(f"{kind}: a data file, not the text of a page")
    source_key = text_source_key(text)
    known = known_boilerplate(source_key) if known_boilerplate is not None else None
    blocks, language = classify_text(
        text,
        max_line_chars=options.max_line_chars,
        known=known,
        min_docs=options.boilerplate_min_docs,
        counted_max_words=options.fingerprint_max_words,
    )
    if known and not any(b.label is BlockLabel.BODY for b in blocks):
        # What recurs may trim a document, never empty it: a page whose every content
        # line recurs (a list or a calendar scraped again) is a copy of one seen before,
        # with no sentence for `seen_before` to tell it by; it is read as the first was.
        blocks, language = classify_text(
            text,
            max_line_chars=options.max_line_chars,
            counted_max_words=options.fingerprint_max_words,
        )
    metadata: dict[str, str] = {}
    if language:
        metadata["language"] = language
    return CleanedDoc(
        format=InputFormat.TEXT,
        blocks=blocks,
        encoding=encoding,
        metadata=metadata,
        source_key=source_key,
    )


def text_source_key(text: str) -> str:
    """Site host a text dump states (a bare URL line in its first or last lines), else "".

    Text dumps rarely carry their address. When one does (scrapers often write the
    URL as the first line), its host keys the corpus counts, so each site learns
    its own templates. Otherwise the key is "", one pool shared by all URL-less
    dumps: junk that recurs across many sites ("Advertisement") is still learnt.
    """
    lines = [line.strip() for line in text.split("\n", 10)[:10]]
    lines += [line.strip() for line in text.rsplit("\n", 5)[-5:]]
    for line in lines:
        m = cues.URL.match(line)
        if m:
            host = m.group("host").lower().rstrip(".")
            return host.removeprefix("www.")
    return ""


def _drop_known_html(doc: CleanedDoc, known: Collection[str], options: CleanOptions) -> None:
    """Relabel short body blocks of an HTML page whose fingerprints recur across the
    source, unless the page itself recurs (`seen_before`) or none of its body is left."""
    if not known:
        return
    body = [(block, len(block.text.split())) for block in doc.blocks
            if block.label is BlockLabel.BODY]
    recurring = {id(block): fp for block, n_words in body
                 if n_words <= options.fingerprint_max_words
                 and (fp := fingerprint(block.text)) in known}
    if seen_before([(n_words, id(block) in recurring) for block, n_words in body
                    if ends_like_sentence(block.text)], options.fingerprint_max_words):
        return
    dropped = [(block, recurring[id(block)]) for block, n_words in body
               if id(block) in recurring and n_words < RECURRING_BODY_MIN_WORDS]
    if len(dropped) == len(body):
        return  # what recurs may trim a page, never empty it (as for text dumps)
    counts = known if isinstance(known, Mapping) else None
    for block, seen in dropped:
        n = counts.get(seen) if counts is not None else None
        many = n if isinstance(n, int) else f"at least {options.boilerplate_min_docs}"
        block.label = BlockLabel.BOILERPLATE
        block.reason = f"recurs across {many} documents of this source"
