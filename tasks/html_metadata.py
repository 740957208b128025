"""Structured metadata an HTML page states about itself: JSON-LD, OpenGraph, meta tags.

Returns a dict keyed by Article field names. Only what the page states is returned:
dates keep the timezone they were written with (or none), and fields of other
articles (related items in JSON-LD lists, <aside> teasers) are never read here.
"""

from __future__ import annotations

import html
import json
import re
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from tasks import cues
from tasks.html_selectors import JSONLD_ARTICLE_TYPES, JSONLD_WEAK_TYPES, META_KEYS

# JSON-LD nesting deeper than this is not metadata, it is an attack or a bug.
_MAX_JSON_DEPTH = 12
# A JSON-LD script larger than this is skipped: metadata is never megabytes.
_MAX_JSONLD_CHARS = 1_000_000

_WS = re.compile(r"\s+")
_BY_PREFIX = re.compile(r"^(?:by|written by|words by)\s+", re.IGNORECASE)
_AUTHOR_SPLIT = re.compile(r"\s*(?:;|\||\band\b|&)\s*", re.IGNORECASE)


def read_metadata(root: etree._Element) -> dict[str, Any]:
    """Collect page-level metadata; JSON-LD wins over meta tags. <title> is kept apart as
    `document_title`: it often names the site or section rather than the article ("News",
    "Story | Daily"), and the page's own headline is preferred to it where there is one."""
    meta = _meta_tags(root)
    found: dict[str, Any] = {}
    article = _jsonld_article(root)
    if article is not None:
        found.update(_from_jsonld(article))
    for name, keys in META_KEYS.items():
        if found.get(name):
            continue
        values = [v for k in keys for v in meta.get(k, [])]
        value = _from_meta(name, values)
        if value:
            found[name] = value
    canonical = _canonical(root)
    if canonical:
        found["canonical_url"] = canonical
    if not found.get("url") and canonical:
        found["url"] = canonical
    if found.get("title"):
        found["title"] = _strip_site(found["title"], found.get("site_name"))
    else:
        found.pop("title", None)
        document_title = _document_title(root)
        if document_title:
            found["document_title"] = _strip_site(document_title, found.get("site_name"))
    lang = _language(root) or _primary_language(found.get("language"))
    if lang:
        found["language"] = lang
    elif "language" in found:
        del found["language"]
    return {k: v for k, v in found.items() if v not in (None, "", [])}


def source_key(metadata: dict[str, Any]) -> str:
    """Site identity for corpus-level counts: the host of the page URL, else its site name."""
    for key in ("canonical_url", "url"):
        url = metadata.get(key)
        if isinstance(url, str):
            host = (urlsplit(url).hostname or "").lower()
            if host:
                return host.removeprefix("www.")
    site = metadata.get("site_name")
    return site.strip().lower() if isinstance(site, str) else ""


def normalize_date(value: object) -> str | None:
    """ISO 8601 of a stated date, keeping its timezone if (and only if) one was stated."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    iso = text.replace(" ", "T", 1) if re.match(r"^\d{4}-\d\d-\d\d \d", text) else text
    iso = re.sub(r"(\.\d{1,6})\d*", r"\1", iso)  # fromisoformat takes at most 6 digits
    try:
        if re.fullmatch(r"\d{4}-\d\d-\d\d", iso):
            return date.fromisoformat(iso).isoformat()
        return datetime.fromisoformat(iso).isoformat()
    except ValueError:
        pass
    try:  # RFC 2822, as in feeds and some meta tags
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    # "-0000" means "timezone unknown" in RFC 2822: parsedate gives a naive datetime then
    return parsed.isoformat()


# --- JSON-LD ------------------------------------------------------------------------


def _jsonld_article(root: etree._Element) -> dict[str, Any] | None:
    """The JSON-LD object describing this page's article, or None."""
    items: list[dict[str, Any]] = []
    for script in root.iter("script"):
        kind = (script.get("type") or "").lower()
        if "ld+json" not in kind:
            continue
        raw = script.text or ""
        if not raw.strip() or len(raw) > _MAX_JSONLD_CHARS:
            continue
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):
            continue
        _collect_items(data, items, 0)
    strong = [i for i in items if _types(i) & (JSONLD_ARTICLE_TYPES - JSONLD_WEAK_TYPES)]
    # a fact check says more about the page than a generic WebPage beside it in a @graph
    reviews = [i for i in items if "claimreview" in _types(i)]
    weak = [i for i in items if _types(i) & JSONLD_WEAK_TYPES]
    graph = {i["@id"]: i for i in items if isinstance(i.get("@id"), str)}
    for candidates in (strong, reviews, weak):
        # several article objects: the first with a headline is the page's own (the
        # others are usually teasers of related articles); a ClaimReview may name only
        # the claim it reviews
        for item in candidates:
            if any(item.get(key) for key in ("headline", "name", "articleBody",
                                             "claimReviewed")):
                return _resolve(item, graph)
    return None


def _collect_items(data: object, out: list[dict[str, Any]], depth: int) -> None:
    """Top-level objects of a JSON-LD value: lists and @graph flattened, nothing deeper."""
    if depth > 3 or len(out) > 200:
        return
    if isinstance(data, list):
        for item in data:
            _collect_items(item, out, depth + 1)
    elif isinstance(data, dict):
        out.append(data)
        if "@graph" in data:
            _collect_items(data["@graph"], out, depth + 1)


def _types(item: dict[str, Any]) -> set[str]:
    """Lowercased @type values of a JSON-LD object."""
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.lower() for k in kinds if isinstance(k, str)}


def _resolve(item: dict[str, Any], graph: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Replace {"@id": …} references in the article's own fields by the graph objects."""

    def deref(value: object) -> object:
        if isinstance(value, dict) and set(value) <= {"@id", "@type"} and "@id" in value:
            return graph.get(value["@id"], value)
        if isinstance(value, list):
            return [deref(v) for v in value[:50]]
        return value

    return {k: deref(v) for k, v in item.items()}


def _from_jsonld(item: dict[str, Any]) -> dict[str, Any]:
    """Article fields stated by one JSON-LD article object."""
    out: dict[str, Any] = {
        "title": _text(item.get("headline")) or _text(item.get("name")),
        "subtitle": _text(item.get("alternativeHeadline")),
        "description": _text(item.get("description")),
        "authors": _people(_names(item.get("author") or item.get("creator"), 0)),
        "published_at": normalize_date(item.get("datePublished") or item.get("dateCreated")),
        "updated_at": normalize_date(item.get("dateModified")),
        "url": _url(item.get("url")) or _url(item.get("mainEntityOfPage")),
        "site_name": _names(item.get("publisher"), 0)[:1],
        "tags": _tags(item.get("keywords")),
        "language": _text(item.get("inLanguage")),
    }
    out["site_name"] = out["site_name"][0] if out["site_name"] else None
    image = item.get("image")
    if isinstance(image, list):
        image = image[0] if image else None
    if isinstance(image, dict):
        out["image_caption"] = _text(image.get("caption"))
        holders = _names(image.get("copyrightHolder"), 0)
        out["photo_credit"] = _text(image.get("creditText")) or (holders[0] if holders else None)
    return {k: v for k, v in out.items() if v}


def _clean(value: str) -> str:
    """Whitespace-normalised text with leftover HTML entities decoded ("&#8216;" → "‘")."""
    return _WS.sub(" ", html.unescape(value) if "&" in value else value).strip()


def _text(value: object) -> str | None:
    """A JSON-LD scalar as clean text (first of a list; @value of a dict)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@value") or value.get("name")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return _clean(str(value)) or None
    return None


def _url(value: object) -> str | None:
    """An absolute URL from a JSON-LD url or mainEntityOfPage value."""
    if isinstance(value, dict):
        value = value.get("@id") or value.get("url")
    text = _text(value)
    return text if text and re.match(r"^https?://", text) else None


def _names(value: object, depth: int) -> list[str]:
    """Person/organization names from a JSON-LD author-like value."""
    if depth > _MAX_JSON_DEPTH:
        return []
    if isinstance(value, list):
        return _dedupe([n for v in value[:50] for n in _names(v, depth + 1)])
    if isinstance(value, dict):
        return _names(value.get("name"), depth + 1)
    if isinstance(value, str):
        return _split_authors(value)
    return []


# --- meta tags ----------------------------------------------------------------------


def _meta_tags(root: etree._Element) -> dict[str, list[str]]:
    """All <meta> values by lowercased name/property/itemprop, in document order."""
    out: dict[str, list[str]] = {}
    for el in root.iter("meta"):
        value = el.get("content")
        if value is None:
            continue
        value = _clean(value)
        if not value:
            continue
        # one tag can state several keys: property="og:x", name="y", itemprop="a b"
        keys = {el.get("property") or "", el.get("name") or ""}
        keys.update((el.get("itemprop") or "").split())
        for key in keys:
            if key.strip():
                out.setdefault(key.strip().lower(), []).append(value)
    return out


def _from_meta(name: str, values: list[str]) -> Any:
    """One metadata field from its candidate meta values (strongest first)."""
    if not values:
        return None
    if name == "authors":
        people = [v for v in values if not re.match(r"^(?:https?:)?//", v)]
        return _people(_dedupe([n for v in people for n in _split_authors(v)]))
    if name == "tags":
        return _dedupe([t for v in values for t in _tags(v)])
    if name in ("published_at", "updated_at"):
        for value in values:
            iso = normalize_date(value)
            if iso:
                return iso
        return None
    if name == "url":
        return next((v for v in values if re.match(r"^https?://", v)), None)
    return values[0]


def _canonical(root: etree._Element) -> str | None:
    """The absolute URL of <link rel=canonical>, if stated."""
    for el in root.iter("link"):
        rel = (el.get("rel") or "").lower().split()
        href = (el.get("href") or "").strip()
        if "canonical" in rel and re.match(r"^https?://", href):
            return href
    return None


def _document_title(root: etree._Element) -> str | None:
    """Text of <title>."""
    for el in root.iter("title"):
        return _clean(el.text or "") or None
    return None


def _strip_site(title: str, site_name: object) -> str:
    """A headline without a trailing " | Site name" part."""
    if isinstance(site_name, str) and site_name:
        for sep in (" | ", " - ", " – ", " — ", " :: ", " · "):
            suffix = (sep + site_name).lower()
            if title.lower().endswith(suffix) and len(title) > len(suffix):
                return title[: -len(suffix)].strip()
    return title


def _language(root: etree._Element) -> str | None:
    """The page's stated language (<html lang>) as an ISO 639 code."""
    return _primary_language(
        root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    )


def _primary_language(tag: object) -> str | None:
    """Primary subtag ("en-US" → "en"): the form guessed for text dumps too."""
    if not isinstance(tag, str):
        return None
    match = re.fullmatch(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*", tag.strip())
    return match.group(1).lower() if match else None


# --- helpers ------------------------------------------------------------------------


def _split_authors(value: str) -> list[str]:
    """Split "By A and B; C" into names; commas split only between multi-word names."""
    value = _BY_PREFIX.sub("", _WS.sub(" ", value).strip())
    names: list[str] = []
    for part in _AUTHOR_SPLIT.split(value):
        pieces = [p.strip() for p in part.split(",")]
        if len(pieces) > 1 and all(len(p.split()) >= 2 for p in pieces):
            names.extend(pieces)
        else:
            names.append(part.strip())
    return _dedupe([n for n in names if n and not re.match(r"^(?:https?:)?//", n)])


def _people(names: list[str]) -> list[str]:
    """Author names without the publishing system's login names ("admin", "jdoe2"): a
    content system fills the author field with the account that posted the page when no
    byline was entered, and that account is not who wrote it."""
    return [n for n in names if not cues.LOGIN_NAME.fullmatch(n)]


def _tags(value: object) -> list[str]:
    """Keywords as a list, from a comma-separated string or a list."""
    if isinstance(value, list):
        return _dedupe([t for v in value[:100] for t in _tags(v)])
    if isinstance(value, str):
        return _dedupe([_WS.sub(" ", t).strip() for t in value.split(",")])
    return []


def _dedupe(items: list[str]) -> list[str]:
    """Drop empties and case-insensitive repeats, keeping the first spelling and order."""
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        key = item.casefold()
        if item and key not in seen:
            seen.add(key)
            out.append(item)
    return out
