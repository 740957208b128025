"""HTML page → labelled text blocks plus structured metadata (the HTML half of `clean`).

Steps: parse (bounded), read the metadata the page states (JSON-LD, OpenGraph, meta
tags), cut the page into text blocks in document order, score candidate containers
by the running text they hold (paragraph votes, link density, class/id cues), pick
the main content node, then label every block with the evidence for its label.

Parser choice: lxml's HTML parser directly, not BeautifulSoup. Measured on the 47
development pages: BeautifulSoup(…, "lxml") needs ~12 ms median just to build its
tree (as long as trafilatura's whole extraction), lxml ~1 ms. libxml2 also bounds
nesting at 256 levels by itself, and every walk below is iterative, so deeply nested
input cannot exhaust the Python stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

from tasks import cues
from tasks import html_selectors as sel
from tasks.decode import DROPPED_CONTROL_CODES
from tasks.document import Block, BlockLabel, CleanedDoc, InputFormat
from tasks.errors import EmptyDocument, TooLarge, UndecodableInput
from tasks.html_metadata import normalize_date, read_metadata, source_key

# Pages beyond this many characters are refused before parsing (real pages are < 3 MB).
MAX_HTML_CHARS = 20_000_000
#: how deep libxml2 (with huge_tree) nests elements before it stops parsing
MAX_DEPTH = 2_048

# A paragraph shorter than this does not vote for its container (captions, labels).
_MIN_VOTE_CHARS = 25
# A block whose text is more than this share link text is a list of links.
_MAX_LINK_DENSITY = 0.5
# Ancestors a paragraph votes for, and the divider of its vote at each level.
_VOTE_DIVIDERS = (1.0, 2.0, 6.0, 9.0, 12.0)
# Score factor of a container inside a region whose markup says furniture: a comment
# thread must hold several times the article's text to be taken for it.
_UNLIKELY_FACTOR = 0.3
# A <form> holding this much running text wraps the page (ASP.NET does), not a form.
_FORM_TEXT_CHARS = 500
# Text a caption/byline/date box can hold; a bigger box with such a class is a column.
_MAX_ROLE_CHARS = 400
# Bylines and datelines are short: a longer block in such a box is something else.
_MAX_BYLINE_CHARS = 100
_SHORT_ROLES = frozenset({BlockLabel.BYLINE, BlockLabel.DATELINE})

# Attributes one tag may carry (real pages stay under a few dozen).
_MAX_ATTRIBUTES = 2_000
_LONG_TAG = re.compile(rb"<[^<>]{20000,}")
_ATTRIBUTE = re.compile(rb"\s[^\s=<>\"']+\s*=")  # name= after a space: not "?a=1&b=2"
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_BYLINE_TEXT = re.compile(r"^(?:by|written by|words by|von|par|por|di)\s+\S", re.IGNORECASE)
#: what parts a stated title into a section label or site name and the headline
_TITLE_PARTS = re.compile(r"\s+[-|–—·:]\s+|:\s+")
#: a label beside the headline in a stated title is this short at most
TITLE_LABEL_MAX_WORDS = 4
_COMMAS = re.compile(r"[,，、،]")
_WORD = re.compile(r"[^\W\d_]{2,}")
_NO_ATTRIBUTES: dict[str, str] = {}
_SENTENCE_END = re.compile(r"[.!?…。](?:\s|$)")


@dataclass(slots=True)
class _Node:
    """One element as the walk saw it."""

    tag: str
    parent: int
    cues: str  # lowercased "class id" string
    role: str
    itemprop: str
    text_chars: int = 0  # text in this subtree
    link_chars: int = 0  # of which inside <a>
    votes: float = 0.0  # paragraph votes received
    para_chars: int = 0  # text of voting paragraphs in this subtree
    block: bool = False  # starts its own text block
    role_box: bool = False  # an inline element made a block by its role cue
    unlikely: bool = False  # inside a region whose markup says furniture
    furniture: tuple[str, str] | None = None  # (kind, reason) its own markup gives


@dataclass(slots=True)
class _RawBlock:
    """Text of one block element (its inline content), before labelling."""

    owner: int  # index of the block element holding the text
    text: str
    link_chars: int


@dataclass(slots=True)
class _Page:
    """The walk's result: element table and text blocks in document order."""

    nodes: list[_Node] = field(default_factory=list)
    blocks: list[_RawBlock] = field(default_factory=list)
    times: list[tuple[int, str]] = field(default_factory=list)  # (node, datetime attr)
    by_owner: dict[int, list[int]] = field(default_factory=dict)  # node -> its blocks


def html_to_cleaned(text: str, *, encoding: str = "utf-8", max_nodes: int = 200_000) -> CleanedDoc:
    """Turn one HTML page into labelled blocks and metadata (format HTML)."""
    if len(text) > MAX_HTML_CHARS:
        raise TooLarge(
            f"HTML page of {len(text):,} characters is over the limit of {MAX_HTML_CHARS:,}"
        )
    root, cut_short = _parse(text)
    metadata = read_metadata(root)
    page = _walk(root, max_nodes)
    if not page.blocks:
        if cut_short:
            raise TooLarge(f"the HTML page nests its elements over {MAX_DEPTH:,} levels deep, "
                           "where parsing stops, and has no visible text above that depth")
        raise EmptyDocument("the HTML page contains no visible text")
    _count_text(page)
    main = _choose_main(page)
    evidence = _gather_evidence(page.nodes, _trusted_nodes(page.nodes, main), main.seed)
    blocks, sure_headline = _label(page, main, evidence, metadata)
    headline = next((b.text for b in blocks if b.label is BlockLabel.TITLE), None)
    if headline and isinstance(metadata.get("title"), str):
        metadata["title"] = _without_label(metadata["title"], headline)
    if "title" not in metadata and "document_title" in metadata and not sure_headline:
        # no headline, or only an <h1> outside the article or in the site's header that
        # does not match <title>: the site's name as often as the headline, so <title>
        # stands
        metadata["title"] = metadata["document_title"]
    if "published_at" not in metadata:
        stated = _time_fallback(page, evidence)
        if stated:
            metadata["published_at"] = stated
    return CleanedDoc(
        format=InputFormat.HTML,
        blocks=blocks,
        encoding=encoding,
        metadata=metadata,
        source_key=source_key(metadata),
    )


# --- parsing ------------------------------------------------------------------------


def _parse(text: str) -> tuple[etree._Element, bool]:
    """Parse with libxml2's forgiving HTML parser; control characters are dropped first.
    Also says whether parsing stopped at MAX_DEPTH (what came before it is kept)."""
    # deleted from the UTF-8 bytes as `decode.delete_ascii` does, kept as bytes for lxml
    data = text.encode("utf-8", "replace").translate(None, DROPPED_CONTROL_CODES)
    if not data.strip():
        raise EmptyDocument("the HTML page is empty")
    # libxml2 checks duplicate attributes pairwise: a tag with 100,000 attributes takes
    # many seconds. Only long tags can hold that many; count them before parsing.
    for match in _LONG_TAG.finditer(data):
        if sum(1 for _ in _ATTRIBUTE.finditer(match.group())) > _MAX_ATTRIBUTES:
            raise TooLarge(f"an HTML tag has more than {_MAX_ATTRIBUTES:,} attributes")
    # huge_tree lifts libxml2's nesting limit from 256 to MAX_DEPTH levels, past which it stops
    # parsing (what came before is kept): unclosed tags nest past 256 on real pages, and
    # the walk below is iterative.
    parser = etree.HTMLParser(
        encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True,
        huge_tree=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise UndecodableInput(f"the HTML page could not be parsed: {exc}") from exc
    if root is None:
        raise EmptyDocument("the HTML page has no elements")
    cut_short = any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log)
    return root, cut_short


def _walk(root: etree._Element, max_nodes: int) -> _Page:
    """Cut the tree into text blocks in document order, iteratively (no recursion).

    lxml's iterwalk reports each element's start and end from C, which costs far less
    than keeping an explicit stack of children in Python; an element's tail is text of
    its parent's block, taken at the element's end.
    """
    page = _Page()
    nodes = page.nodes
    blocks = page.blocks
    parts: list[str] = []
    owners: list[int] = []
    # node index of each element being walked (-1: skipped, its subtree is not walked),
    # above a -1 that stands for the root's parent
    walking: list[int] = [-1]
    link_chars = 0
    link_depth = 0
    after_br = False
    has_text = False  # some piece in parts is not all whitespace
    skip_tags, block_tags = sel.SKIP_TAGS, sel.BLOCK_TAGS

    # parts is empty (and link_chars 0) between blocks: callers skip the call then
    def flush() -> None:
        nonlocal link_chars, has_text
        # whitespace alone (the indentation between tags, most of the pieces) would
        # collapse to "": only text is joined and split
        if owners and has_text:
            joined = " ".join("".join(parts).split())
            if joined:
                blocks.append(_RawBlock(owners[-1], joined, min(link_chars, len(joined))))
        parts.clear()
        link_chars = 0
        has_text = False

    # comments and processing instructions are reported too: their tails are text
    walker = etree.iterwalk(root, events=("start", "end", "comment", "pi"))
    for event, el in walker:
        if event == "start":
            tag = el.tag.lower()
            # one call for all attributes: most elements have none, and dict lookups
            # cost far less than one lxml attribute lookup each
            attrs = dict(el.items()) if el.attrib else _NO_ATTRIBUTES
            if tag in skip_tags or (attrs and _is_hidden(attrs)):
                walking.append(-1)  # scripts, hidden parts: only their tail is text
                walker.skip_subtree()
                continue
            if len(nodes) >= max_nodes:
                raise TooLarge(f"the HTML page has more than {max_nodes:,} elements")
            idx = len(nodes)
            cues = _cues(attrs.get("class") or "", attrs.get("id") or "")
            itemprop = attrs.get("itemprop")
            node = _Node(tag, walking[-1], cues, (attrs.get("role") or "").lower(),
                         (itemprop or "").lower())
            if tag == "time" or (itemprop and attrs.get("datetime")):
                page.times.append((idx, attrs.get("datetime") or ""))
            nodes.append(node)
            walking.append(idx)
            # an inline box naming its role (credit, byline) is a block of its own, unless
            # it sits in such a box already ("<span class=byline>by <span class=author>…")
            role_box = bool(cues) and _is_role_box(tag, cues)
            if role_box and owners and nodes[owners[-1]].role_box:
                role_box = False
            if tag in block_tags or role_box:
                node.block = True
                node.role_box = role_box
                if parts:
                    flush()
                owners.append(idx)
            elif tag == "br":
                if after_br:
                    if parts:
                        flush()  # <br><br> separates paragraphs
                else:
                    parts.append(" ")
                after_br = True
            if tag == "a":
                link_depth += 1
            piece = el.text
        else:
            if event == "end":
                idx = walking.pop()
                if idx >= 0:
                    node = nodes[idx]
                    if node.tag == "a":
                        link_depth -= 1
                    if node.block:
                        if parts:
                            flush()
                        owners.pop()
            piece = el.tail
        if piece:
            parts.append(piece)
            if link_depth:
                link_chars += len(piece.strip())
            if not piece.isspace():
                after_br = False
                has_text = True
    if parts:
        flush()
    return page


@lru_cache(maxsize=8192)
def _cues(classes: str, ident: str) -> str:
    """Lowercased "class id" string without per-post taxonomy classes."""
    cues = f"{classes} {ident}".strip().lower()
    return sel.TAXONOMY_CLASS.sub(" ", cues).strip() if "-" in cues else cues


def _is_role_box(tag: str, cues: str) -> bool:
    """Inline boxes that name their role (a credit, a caption) get a block of their own."""
    return tag in sel.INLINE_ROLE_TAGS and bool(sel.INLINE_ROLE_CUES.search(cues))


def _is_hidden(attrs: dict[str, str]) -> bool:
    """True for elements the page hides from readers (`attrs`: the element's attributes)."""
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    style = attrs.get("style")
    return bool(style and _HIDDEN_STYLE.search(style))


# --- main content selection ------------------------------------------------------


def _count_text(page: _Page) -> None:
    """Fill text sizes per subtree, furniture regions, and paragraph votes per container."""
    nodes = page.nodes
    voters: list[_RawBlock] = []
    for number, block in enumerate(page.blocks):
        page.by_owner.setdefault(block.owner, []).append(number)
        node = nodes[block.owner]
        node.text_chars += len(block.text)
        node.link_chars += block.link_chars
        if _votes(block, node):
            node.para_chars += len(block.text)
            voters.append(block)
    # children always come after their parent in the table: one reverse pass sums up
    for node in reversed(nodes):
        if node.parent >= 0:
            parent = nodes[node.parent]
            parent.text_chars += node.text_chars
            parent.link_chars += node.link_chars
            parent.para_chars += node.para_chars
    for node in nodes:
        node.furniture = _furniture_cue(node)
        # inside a region whose markup says furniture (comments, related, sidebar…)
        node.unlikely = (node.parent >= 0 and nodes[node.parent].unlikely) or (
            node.tag not in ("html", "body") and node.furniture is not None
        )
    for block in voters:
        vote = 1.0 + len(_COMMAS.findall(block.text)) + min(len(block.text) / 100.0, 3.0)
        if nodes[block.owner].unlikely:
            vote *= _UNLIKELY_FACTOR  # comments must not lift the page wrapper above the text
        ancestor = nodes[block.owner].parent
        for divider in _VOTE_DIVIDERS:
            if ancestor < 0:
                break
            nodes[ancestor].votes += vote / divider
            ancestor = nodes[ancestor].parent


def _votes(block: _RawBlock, owner: _Node) -> bool:
    """Whether a block is running text that votes for its containers."""
    size = len(block.text)
    return (
        size >= _MIN_VOTE_CHARS
        and block.link_chars <= size * _MAX_LINK_DENSITY
        and owner.tag in sel.PARAGRAPH_TAGS
    )


def _link_density(node: _Node) -> float:
    """Share of a subtree's text that sits inside links."""
    return node.link_chars / node.text_chars if node.text_chars else 0.0


def _prior(node: _Node) -> float:
    """What the element's kind and class/id say before any text is counted."""
    weight = _TAG_PRIOR.get(node.tag, 0.0)
    if node.cues:
        if sel.NEGATIVE_CUES.search(node.cues):
            weight -= 25.0
        if sel.POSITIVE_CUES.search(node.cues):
            weight += 25.0
    if node.itemprop in sel.ARTICLE_BODY_ITEMPROPS:
        weight += 25.0
    if node.role == "main":
        weight += 10.0
    return weight


_TAG_PRIOR = {
    "div": 5.0, "article": 10.0, "main": 10.0, "section": 3.0,
    "pre": 3.0, "td": 3.0, "blockquote": 3.0,
    "address": -3.0, "ol": -3.0, "ul": -3.0, "dl": -3.0, "dd": -3.0, "dt": -3.0,
    "li": -3.0, "form": -3.0,
    "h1": -5.0, "h2": -5.0, "h3": -5.0, "h4": -5.0, "h5": -5.0, "h6": -5.0, "th": -5.0,
    "nav": -25.0, "footer": -25.0, "aside": -25.0,
}  # fmt: skip


@dataclass(slots=True)
class _Main:
    """The chosen main content: its nodes, the best-scoring node, and that node's score."""

    chosen: set[int]
    seed: int  # best-scoring container before climbing: its ancestors are trusted
    score: float


def _choose_main(page: _Page) -> _Main:
    """Pick the main content node (plus sibling nodes that continue it)."""
    nodes = page.nodes
    scores: dict[int, float] = {}
    for idx, node in enumerate(nodes):
        if node.votes > 0:
            score = (node.votes + _prior(node)) * (1.0 - _link_density(node))
            scores[idx] = score * _UNLIKELY_FACTOR if node.unlikely and score > 0 else score
    if not scores:
        return _Main({0}, 0, 0.0)
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)
    seed = ranked[0]
    top = _climb(nodes, scores, seed, ranked)
    top_score = max(scores[seed], scores.get(top, 0.0))
    chosen = {top}
    parent = nodes[top].parent
    if parent >= 0:
        threshold = max(10.0, top_score * 0.2)
        for idx, node in enumerate(nodes):
            if node.parent != parent or idx == top:
                continue
            if _continues_main(page, idx, scores, threshold, nodes[top]):
                chosen.add(idx)
    return _Main(chosen, seed, top_score)


def _climb(nodes: list[_Node], scores: dict[int, float], top: int, ranked: list[int]) -> int:
    """Move up from the best node when its ancestors hold more of the running text."""
    top_score = scores[top]
    close = [c for c in ranked[1:6] if scores[c] >= top_score * 0.75]
    if len(close) >= 3:
        # the text is split over several containers: take their common ancestor
        ancestor = nodes[top].parent
        while ancestor > 0 and nodes[ancestor].tag not in ("body", "html"):
            if sum(1 for c in close if _is_descendant(nodes, c, ancestor)) >= 3:
                top = ancestor
                break
            ancestor = nodes[ancestor].parent
    # compare paragraph votes only (not class priors): an ancestor that received more
    # votes than its child collects paragraphs from several children
    ancestor = nodes[top].parent
    while ancestor > 0 and nodes[ancestor].tag not in ("body", "html"):
        if nodes[ancestor].votes <= nodes[top].votes:
            break
        top = ancestor
        ancestor = nodes[ancestor].parent
    return top


def _is_descendant(nodes: list[_Node], idx: int, ancestor: int) -> bool:
    """True if node idx lies below ancestor."""
    while idx >= 0:
        if idx == ancestor:
            return True
        idx = nodes[idx].parent
    return False


# Page regions that never continue the article text, whatever their score.
_NEVER_SIBLING = frozenset({"header", "footer", "nav", "aside", "form", "menu"})


def _continues_main(
    page: _Page, idx: int, scores: dict[int, float], threshold: float, top: _Node
) -> bool:
    """Whether a sibling of the main node carries on its text."""
    node = page.nodes[idx]
    if node.tag in _NEVER_SIBLING:
        return False
    score = scores.get(idx, 0.0)
    if node.votes < top.votes * 0.2:
        score = 0.0  # a class name alone does not make a box part of the article
    if node.cues and node.cues == top.cues:
        score += threshold  # a box styled like the main node is likely more of it
    if score >= threshold:
        return True
    if node.tag != "p" or not node.text_chars:
        return False
    density = _link_density(node)
    if node.text_chars > 80:
        return density < 0.25
    text = " ".join(page.blocks[b].text for b in page.by_owner.get(idx, ()))
    return density == 0 and bool(_SENTENCE_END.search(text))


# --- labelling ------------------------------------------------------------------------


@dataclass(slots=True)
class _Evidence:
    """What the ancestors of a node say, up to the nearest trusted (main) ancestor."""

    furniture: list[tuple[str, str] | None]  # (kind, reason) of the innermost cue
    role: list[tuple[BlockLabel, str] | None]  # caption/credit/byline/dateline/subtitle cue


def _gather_evidence(nodes: list[_Node], trusted: set[int], seed: int) -> _Evidence:
    """Per node, the innermost furniture cue and block-role cue below the trusted nodes."""
    wrapper_chars = max(1, nodes[seed].para_chars // 2)
    furniture: list[tuple[str, str] | None] = []
    role: list[tuple[BlockLabel, str] | None] = []
    in_seed: list[bool] = []
    for idx, node in enumerate(nodes):
        in_seed.append(idx == seed or (node.parent >= 0 and in_seed[node.parent]))
        if idx in trusted:
            furniture.append(None)
            role.append(None)
            continue
        inherited = node.parent >= 0 and node.parent not in trusted
        # a wrapper inside the best container holding most of its paragraphs is not
        # furniture, whatever its class says ("paywall" around the locked text)
        holds_text = (
            in_seed[idx]
            and node.para_chars >= wrapper_chars
            and node.tag not in sel.BOILERPLATE_TAGS
        )
        own = None if holds_text else node.furniture
        furniture.append(own or (furniture[node.parent] if inherited else None))
        # a role cue names a small box (a byline, a caption), never a whole column
        own_role = _role_cue(node) if node.text_chars <= _MAX_ROLE_CHARS else None
        role.append(own_role or (role[node.parent] if inherited else None))
    return _Evidence(furniture, role)


def _describe(node: _Node) -> str:
    """Short element description for reasons, e.g. <div class="share-bar">."""
    return f'<{node.tag} "{node.cues[:40]}">' if node.cues else f"<{node.tag}>"


def _furniture_cue(node: _Node) -> tuple[str, str] | None:
    """(kind, reason) if this element alone marks its subtree as page furniture."""
    kind = _class_furniture(node.cues) if node.cues else None
    if kind == "related":
        # checked first: a related list is often also an <aside> or a "sidebar"
        return ("related", f"related cue on {_describe(node)}")
    if node.tag in sel.BOILERPLATE_TAGS and not (
        node.tag == "form" and node.para_chars >= _FORM_TEXT_CHARS
    ):
        return ("boilerplate", f"inside <{node.tag}>")
    if node.tag == "header":
        return ("header", "inside <header>")
    if node.role in sel.BOILERPLATE_ROLES:
        return ("boilerplate", f'inside role="{node.role}"')
    if kind:
        return ("boilerplate", f"{kind} cue on {_describe(node)}")
    return None


# All furniture cues in one pattern (one scan per class string); group gN is cue N.
_FURNITURE = re.compile(
    "|".join(f"(?P<g{n}>{pattern.pattern})" for n, (_, pattern) in enumerate(sel.BOILERPLATE_CUES))
)


@lru_cache(maxsize=8192)
def _class_furniture(cues: str) -> str | None:
    """The furniture kind a class/id string names ("related", "share"…), or None."""
    if sel.RELATED_CUES.search(cues):
        return "related"
    match = _FURNITURE.search(cues)
    if match and match.lastgroup:
        return sel.BOILERPLATE_CUES[int(match.lastgroup[1:])][0]
    return None


def _role_cue(node: _Node) -> tuple[BlockLabel, str] | None:
    """(label, reason) if this element says its text is a caption, credit, byline…"""
    if node.tag == "figcaption":
        return (BlockLabel.CAPTION, "inside <figcaption>")
    if node.tag == "figure" and node.para_chars == 0:
        # text loose in a figure (no figcaption) describes the picture
        return (BlockLabel.CAPTION, "text inside <figure>")
    label = _ITEMPROP_ROLES.get(node.itemprop) or (_class_role(node.cues) if node.cues else None)
    if label is None:
        return None
    return (label, f"{_ROLE_WORDS[label]} cue on {_describe(node)}")


_ITEMPROP_ROLES = {
    "author": BlockLabel.BYLINE,
    "caption": BlockLabel.CAPTION,
    "datepublished": BlockLabel.DATELINE,
    "datemodified": BlockLabel.DATELINE,
}
_ROLE_WORDS = {
    BlockLabel.BYLINE: "byline",
    BlockLabel.CREDIT: "credit",
    BlockLabel.CAPTION: "caption",
    BlockLabel.DATELINE: "date",
    BlockLabel.SUBTITLE: "subtitle",
}


@lru_cache(maxsize=8192)
def _class_role(cues: str) -> BlockLabel | None:
    """The block role a class/id string names (byline, credit, caption…), or None."""
    for label, pattern in (
        (BlockLabel.BYLINE, sel.BYLINE_CUES),
        (BlockLabel.CREDIT, sel.CREDIT_CUES),
        (BlockLabel.CAPTION, sel.CAPTION_CUES),
        (BlockLabel.DATELINE, sel.DATELINE_CUES),
        (BlockLabel.SUBTITLE, sel.SUBTITLE_CUES),
    ):
        if pattern.search(cues):
            return label
    return None


def _trusted_nodes(nodes: list[_Node], main: _Main) -> set[int]:
    """The main nodes, the best container and their ancestors: their cues are no evidence."""
    trusted: set[int] = set()
    for idx in (*main.chosen, main.seed):
        while idx >= 0 and idx not in trusted:
            trusted.add(idx)
            idx = nodes[idx].parent
    return trusted


def _in_main(nodes: list[_Node], chosen: set[int]) -> list[bool]:
    """Per node, whether it lies inside one of the chosen main nodes."""
    inside: list[bool] = []
    for idx, node in enumerate(nodes):
        inside.append(idx in chosen or (node.parent >= 0 and inside[node.parent]))
    return inside


def _label(
    page: _Page, main: _Main, evidence: _Evidence, metadata: dict[str, object]
) -> tuple[list[Block], bool]:
    """Label every block with the evidence for its label; and whether the headline among
    them is sure (see `_headline`)."""
    nodes = page.nodes
    chosen, top_score = main.chosen, main.score
    inside = _in_main(nodes, chosen)
    title_block, sure_headline = _headline(page, inside, chosen, metadata.get("title")
                                           or metadata.get("document_title"))
    main_desc = ", ".join(_describe(nodes[c]) for c in sorted(chosen))
    body_reason = f"inside main content node {main_desc} (score {top_score:.1f})"
    score = round(top_score, 1)
    out: list[Block] = []
    for number, raw in enumerate(page.blocks):
        label, reason = _decide(page, number, raw, evidence, inside[raw.owner], title_block)
        if label is BlockLabel.BODY:
            reason = body_reason
        elif not reason:
            near = _nearest_score(nodes, raw.owner)
            reason = f"outside main content node (score {near:.1f} vs {top_score:.1f})"
        out.append(Block(raw.text, label, reason, nodes[raw.owner].tag, score))
    return out, sure_headline


def _decide(
    page: _Page,
    number: int,
    raw: _RawBlock,
    evidence: _Evidence,
    inside: bool,
    title_block: int,
) -> tuple[BlockLabel, str]:
    """One block's label and reason ("" reason for plain outside-main furniture)."""
    furniture = evidence.furniture[raw.owner]
    if furniture and furniture[0] == "related":
        return BlockLabel.RELATED, furniture[1]
    if furniture and furniture[0] == "boilerplate":
        return BlockLabel.BOILERPLATE, furniture[1]
    if number == title_block:
        return BlockLabel.TITLE, "the page's headline"
    role = evidence.role[raw.owner]
    if role and (role[0] not in _SHORT_ROLES or len(raw.text) <= _MAX_BYLINE_CHARS):
        return role
    if len(raw.text) < 80 and _BYLINE_TEXT.match(raw.text):
        return BlockLabel.BYLINE, "starts like a byline"
    if furniture:
        return BlockLabel.BOILERPLATE, furniture[1]
    if not inside:
        return BlockLabel.BOILERPLATE, ""
    density = raw.link_chars / len(raw.text)
    if density > _MAX_LINK_DENSITY:
        return BlockLabel.BOILERPLATE, f"link density {density:.2f}"
    if sel.BOILERPLATE_TEXT.match(raw.text):
        return BlockLabel.BOILERPLATE, "standard furniture phrase"
    if _is_date_line(raw.text) and page.nodes[raw.owner].tag != "blockquote":
        return BlockLabel.DATELINE, "only a date"
    return BlockLabel.BODY, ""


def _is_date_line(text: str) -> bool:
    """A short block that states a date (and maybe a time) and little else."""
    if len(text) > 80 or not cues.DATE.search(text):
        return False
    rest = cues.DATELINE_WORDS.sub(" ", cues.DATE.sub(" ", text))
    return sum(1 for word in rest.split() if _WORD.search(word)) <= 2


def _nearest_score(nodes: list[_Node], idx: int) -> float:
    """Votes of the nearest ancestor that received any (for outside-main reasons)."""
    while idx >= 0:
        if nodes[idx].votes > 0:
            return nodes[idx].votes
        idx = nodes[idx].parent
    return 0.0


def _without_label(title: str, headline: str) -> str:
    """The page's `headline` where the stated `title` is that headline with a short label
    before or after it ("Opinion | …", "… | Business"), else `title` as stated."""
    for sep in _TITLE_PARTS.finditer(title):
        before, after = title[:sep.start()].strip(), title[sep.end():].strip()
        for kept, label in ((after, before), (before, after)):
            words = len(label.split())
            if kept == headline.strip() and words <= TITLE_LABEL_MAX_WORDS and \
                    words < len(kept.split()):
                return kept
    return title


def _headline(page: _Page, inside: list[bool], chosen: set[int],
              title: object) -> tuple[int, bool]:
    """The block that is the page's headline (-1: none), and whether that is sure: it
    matches the stated `title`, or is the first <h1> inside the main content or in the
    same <article> or <main> element (but not in the site's header), rather than only
    the page's first <h1> (which may be the site's name)."""
    headings = [n for n, b in enumerate(page.blocks) if page.nodes[b.owner].tag in sel.HEADING_TAGS]
    if isinstance(title, str) and title:
        wanted = _words(title)
        best, best_overlap = -1, 0.5
        for n in headings:
            words = _words(page.blocks[n].text)
            if not words:
                continue
            overlap = len(wanted & words) / max(len(wanted), len(words))
            if overlap > best_overlap:
                best, best_overlap = n, overlap
        if best >= 0:
            return best, True
    nodes = page.nodes
    h1s = [n for n in headings if nodes[page.blocks[n].owner].tag == "h1"]
    wrappers = {w for c in chosen for w in _article_wrappers(nodes, c)}
    for n in h1s:  # in page order: an article's headline comes before its sections'
        owner = page.blocks[n].owner
        if inside[owner] or (wrappers.intersection(_article_wrappers(nodes, owner))
                             and not _in_site_header(nodes, owner)):
            return n, True
    return (h1s[0], False) if h1s else (-1, False)


def _article_wrappers(nodes: list[_Node], idx: int) -> list[int]:
    """The <article> and <main> elements that hold node `idx`."""
    out = []
    while idx >= 0:
        if nodes[idx].tag in ("article", "main"):
            out.append(idx)
        idx = nodes[idx].parent
    return out


def _in_site_header(nodes: list[_Node], idx: int) -> bool:
    """Whether node `idx` lies in a <header> or <nav> that is not an article's own: the
    site's name or logo, not a headline."""
    in_header = False
    while idx >= 0:
        tag = nodes[idx].tag
        if tag == "article":
            return False
        in_header = in_header or tag in ("header", "nav")
        idx = nodes[idx].parent
    return in_header


def _words(text: str) -> set[str]:
    """Lowercased word set, for headline matching."""
    return set(re.findall(r"\w+", text.casefold()))


def _time_fallback(page: _Page, evidence: _Evidence) -> str | None:
    """Publication date from a <time datetime> that is not in furniture or a teaser."""
    nodes = page.nodes
    for idx, value in page.times:
        furniture = evidence.furniture[idx]
        if furniture and furniture[0] != "header":
            continue
        if nodes[idx].itemprop == "datemodified":
            continue
        stated = normalize_date(value)
        if stated:
            return stated
    return None
