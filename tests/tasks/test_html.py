"""Tests for tasks.html: metadata, main-content selection, hostile input."""

from __future__ import annotations

import json
import random
import time

import pytest

from tasks.document import BlockLabel, CleanedDoc, InputFormat
from tasks.errors import EmptyDocument, PermanentError, TooLarge
from tasks.extract import extract
from tasks.html import html_to_cleaned

PARAGRAPHS = [
    "The council voted on Tuesday to rebuild the old bridge, ending a debate that had "
    "divided the town for almost a decade, according to officials present at the meeting.",
    "Engineers said the work would start in spring, and that the river would stay open to "
    "boats for most of the construction period, which is expected to last two years.",
    "Residents who opposed the plan, many of them living near the east bank, said they "
    "would keep pressing for a smaller design, with fewer lanes and a footpath.",
    "The mayor, who had campaigned on the project, called the vote a turning point, and "
    "promised regular public updates on the cost, the schedule and the traffic plans.",
]


def page(head: str = "", article: str = "", extra: str = "") -> str:
    """A small news page with the usual furniture around an article."""
    body = article or "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return f"""<!doctype html><html lang="en-GB"><head><title>Bridge vote | Town News</title>
{head}</head><body>
<header class="site-header"><a href="/">Town News</a></header>
<nav><ul><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/weather">Weather and the long-range forecast for the region</a></li></ul></nav>
<main><article>
<h1>Council votes to rebuild the old bridge</h1>
<div class="byline">By Ann Smith</div>
<div class="article-body">{body}
<div class="share-tools"><p>Share this story on Facebook, Twitter, or by email with friends</p>
</div></div>
</article>
{extra}
</main>
<footer><p>Copyright 2024 Town News Ltd. All rights reserved, reproduction prohibited.</p>
<p>Contact us, advertise with us, terms of service, privacy policy and cookies.</p></footer>
</body></html>"""


def body_of(doc: CleanedDoc) -> list[str]:
    """Texts of the BODY blocks."""
    return [b.text for b in doc.blocks if b.label is BlockLabel.BODY]


def label_of(doc: CleanedDoc, text_start: str) -> BlockLabel:
    """Label of the first block whose text starts with text_start."""
    return next(b.label for b in doc.blocks if b.text.startswith(text_start))


# --- metadata ----------------------------------------------------------------------


def test_jsonld_graph_gives_article_fields() -> None:
    ld = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "@id": "https://town.example/#site", "name": "Town News"},
            {"@type": "Person", "@id": "https://town.example/#ann", "name": "Ann Smith"},
            {
                "@type": "NewsArticle",
                "headline": "Council votes to rebuild the old bridge",
                "datePublished": "2024-03-05T09:30:00+01:00",
                "dateModified": "2024-03-05T11:00:00+01:00",
                "author": [{"@id": "https://town.example/#ann"}, {"name": "Bo Lee"}],
                "publisher": {"@type": "Organization", "name": "Town News"},
                "keywords": "bridge, council",
                "mainEntityOfPage": {"@id": "https://www.Town.example/news/bridge"},
            },
        ],
    }
    head = f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    doc = html_to_cleaned(page(head))
    meta = doc.metadata
    assert doc.format is InputFormat.HTML
    assert meta["title"] == "Council votes to rebuild the old bridge"
    assert meta["authors"] == ["Ann Smith", "Bo Lee"]
    assert meta["published_at"] == "2024-03-05T09:30:00+01:00"
    assert meta["updated_at"] == "2024-03-05T11:00:00+01:00"
    assert meta["site_name"] == "Town News"
    assert meta["tags"] == ["bridge", "council"]
    assert meta["url"] == "https://www.Town.example/news/bridge"
    assert meta["language"] == "en"  # <html lang="en-GB">, as an ISO 639-1 code
    assert doc.source_key == "town.example"


def test_jsonld_list_picks_the_article_object() -> None:
    ld = [
        {"@type": "BreadcrumbList", "itemListElement": []},
        {"@type": ["ReportageNewsArticle"], "headline": "Bridge", "author": "Ann Smith"},
    ]
    head = f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    assert html_to_cleaned(page(head)).metadata["authors"] == ["Ann Smith"]


def test_a_fact_checks_author_is_the_fact_checker_not_the_claims_author() -> None:
    ld = {"@context": "https://schema.org", "@type": "ClaimReview",
          "headline": "Council votes to rebuild the old bridge",
          "author": {"@type": "Organization", "name": "Town Fact Check"},
          "datePublished": "2024-03-05",
          "itemReviewed": {"@type": "CreativeWork", "datePublished": "2024-03-01",
                           "author": {"@type": "Person", "name": "Carl Claimant"}}}
    head = f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    claimant = '<div class="statement"><h4 class="author">Carl Claimant</h4></div>'
    meta = html_to_cleaned(page(head, extra=claimant)).metadata
    assert meta["authors"] == ["Town Fact Check"]
    assert meta["published_at"] == "2024-03-05"


def test_a_fact_check_in_a_graph_with_only_the_claim_named_gives_the_fact_checker() -> None:
    ld = {"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage", "@id": "https://town.example/check#page",
         "name": "Fact check: the bridge"},
        {"@type": "ClaimReview", "claimReviewed": "The bridge will cost nothing.",
         "author": {"@type": "Organization", "name": "Town Fact Check"},
         "itemReviewed": {"@type": "Claim",
                          "author": {"@type": "Person", "name": "Carl Claimant"}}}]}
    head = f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    assert html_to_cleaned(page(head)).metadata["authors"] == ["Town Fact Check"]


@pytest.mark.parametrize("stated", ["admin", "jdoe2", "web_editor"])
def test_a_login_name_in_the_author_field_is_not_an_author(stated: str) -> None:
    ld = {"@type": "NewsArticle", "headline": "Bridge", "author": {"name": stated}}
    head = (f'<script type="application/ld+json">{json.dumps(ld)}</script>'
            f'<meta name="author" content="{stated}">')
    assert "authors" not in html_to_cleaned(page(head)).metadata


def test_opengraph_and_meta_fallback() -> None:
    head = """
    <meta property="og:title" content="Bridge vote">
    <meta property="og:description" content="The council decided.">
    <meta property="og:url" content="https://news.example.org/bridge">
    <meta property="og:site_name" content="Town News">
    <meta property="article:published_time" content="2024-03-05T09:30:00Z">
    <meta property="article:tag" content="bridge"><meta property="article:tag" content="town">
    <meta name="author" content="Ann Smith and Bo Lee">
    <link rel="canonical" href="https://news.example.org/bridge?ref=1">"""
    meta = html_to_cleaned(page(head)).metadata
    assert meta["title"] == "Bridge vote"
    assert meta["description"] == "The council decided."
    assert meta["published_at"] == "2024-03-05T09:30:00+00:00"
    assert meta["tags"] == ["bridge", "town"]
    assert meta["authors"] == ["Ann Smith", "Bo Lee"]
    assert meta["canonical_url"] == "https://news.example.org/bridge?ref=1"
    assert meta["site_name"] == "Town News"


def test_no_invented_timezone() -> None:
    head = '<meta property="article:published_time" content="2024-03-05 09:30:00">'
    meta = html_to_cleaned(page(head)).metadata
    assert meta["published_at"] == "2024-03-05T09:30:00"


def test_unparseable_date_is_left_out_not_guessed() -> None:
    head = '<meta property="article:published_time" content="last Tuesday">'
    assert "published_at" not in html_to_cleaned(page(head)).metadata


def test_the_articles_headline_is_preferred_to_the_document_title() -> None:
    # <title> often names the site or section ("News"), or carries the site's name
    head = '<meta property="og:site_name" content="Town News">'
    assert extract(html_to_cleaned(page(head))).title == "Council votes to rebuild the old bridge"
    generic = page().replace("<title>Bridge vote | Town News</title>", "<title>News</title>")
    assert extract(html_to_cleaned(generic)).title == "Council votes to rebuild the old bridge"


@pytest.mark.parametrize("stated,title", [
    # a section's label before or after the headline in og:title: the headline is meant
    ("Opinion | Council votes to rebuild the old bridge",
     "Council votes to rebuild the old bridge"),
    ("Council votes to rebuild the old bridge – Local News",
     "Council votes to rebuild the old bridge"),
    ("Council votes to rebuild the old bridge - Town News",
     "Council votes to rebuild the old bridge"),
    # a stated title that says more than the label is kept, as is one of other words
    ("Council votes to rebuild the old bridge: what it will cost every household",
     "Council votes to rebuild the old bridge: what it will cost every household"),
    ("Bridge to be rebuilt, council decides", "Bridge to be rebuilt, council decides"),
])
def test_a_short_label_beside_the_headline_in_the_stated_title_is_left_out(
        stated: str, title: str) -> None:
    head = f'<meta property="og:title" content="{stated}">'
    assert extract(html_to_cleaned(page(head))).title == title


_PROSE = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)


@pytest.mark.parametrize("document_title,body,title", [
    # an HTML5 article with headed sections: its headline comes first
    ("Bridge vote - Town News",
     f"<article><header><h1>Council votes to rebuild the old bridge</h1></header>"
     f"<div class=body>{_PROSE}<h1>Background</h1>{_PROSE}</div></article>",
     "Council votes to rebuild the old bridge"),
    # the site's name in <main>'s header, or alone above the article, is no headline
    ("Bridge vote | Daily Bugle",
     f"<main><header><h1><a href='/'>The Daily Bugle</a></h1></header>"
     f"<article>{_PROSE}</article></main>", "Bridge vote | Daily Bugle"),
    ("Bridge vote | Daily Bugle", f"<h1>Daily Bugle</h1><article>{_PROSE}</article>",
     "Bridge vote | Daily Bugle"),
])
def test_which_h1_is_the_headline(document_title: str, body: str, title: str) -> None:
    html = f"<html><head><title>{document_title}</title></head><body>{body}</body></html>"
    assert extract(html_to_cleaned(html)).title == title


def test_title_falls_back_to_document_title_without_site_suffix() -> None:
    # the page's only <h1> is the site's name, outside any article
    head = '<meta property="og:site_name" content="Town News">'
    html = page(head).replace('<a href="/">Town News</a>', "<h1>Town News</h1>") \
        .replace("<h1>Council votes to rebuild the old bridge</h1>", "")
    assert extract(html_to_cleaned(html)).title == "Bridge vote"
    assert extract(html_to_cleaned(html.replace("<h1>Town News</h1>", ""))).title \
        == "Bridge vote"


def test_related_article_in_aside_does_not_leak_author_or_date() -> None:
    aside = """<aside class="related-articles"><h3>Related</h3><ul>
      <li><a href="/other">Mayor opens new library wing after two years of building work</a>
      <span class="byline">By Carl Other</span>
      <time datetime="2019-01-01T10:00:00">1 Jan 2019</time></li></ul></aside>"""
    doc = html_to_cleaned(page(extra=aside))
    assert "authors" not in doc.metadata
    assert "published_at" not in doc.metadata
    assert label_of(doc, "Mayor opens") is BlockLabel.RELATED
    assert label_of(doc, "By Carl Other") is not BlockLabel.BYLINE


def test_time_element_of_the_article_is_used() -> None:
    article = '<p><time datetime="2024-03-05">5 March</time></p>' + "".join(
        f"<p>{p}</p>" for p in PARAGRAPHS
    )
    assert html_to_cleaned(page(article=article)).metadata["published_at"] == "2024-03-05"


# --- main content -------------------------------------------------------------------


def test_body_kept_and_furniture_dropped() -> None:
    doc = html_to_cleaned(page())
    assert body_of(doc) == PARAGRAPHS
    assert label_of(doc, "Weather") is BlockLabel.BOILERPLATE
    assert label_of(doc, "Share this story") is BlockLabel.BOILERPLATE
    assert label_of(doc, "Copyright 2024") is BlockLabel.BOILERPLATE
    assert label_of(doc, "Council votes") is BlockLabel.TITLE
    assert label_of(doc, "By Ann Smith") is BlockLabel.BYLINE


def test_every_block_has_a_reason_and_a_tag() -> None:
    doc = html_to_cleaned(page())
    assert all(b.reason and b.tag for b in doc.blocks)
    nav = next(b for b in doc.blocks if b.text.startswith("Weather"))
    assert "nav" in nav.reason
    footer = next(b for b in doc.blocks if b.text.startswith("Copyright"))
    assert "footer" in footer.reason


def test_caption_and_credit_are_not_body() -> None:
    article = (
        '<figure><img src="a.jpg"><figcaption>The old bridge at dusk.</figcaption>'
        '<span class="photo-credit">Jo Camera/Agency</span></figure>'
        + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    )
    doc = html_to_cleaned(page(article=article))
    assert label_of(doc, "The old bridge at dusk") is BlockLabel.CAPTION
    assert label_of(doc, "Jo Camera") is BlockLabel.CREDIT
    assert body_of(doc) == PARAGRAPHS


def test_link_list_inside_article_is_not_body() -> None:
    links = "<ul>" + "".join(
        f'<li><a href="/s{i}">Another story number {i} about the town</a></li>' for i in range(5)
    )
    doc = html_to_cleaned(page(article="".join(f"<p>{p}</p>" for p in PARAGRAPHS) + links))
    blocks = [b for b in doc.blocks if b.text.startswith("Another story")]
    assert blocks and all(b.label is not BlockLabel.BODY for b in blocks)
    assert "link density" in blocks[0].reason


def test_paragraphs_split_by_double_br() -> None:
    article = "<div>" + "<br><br>".join(PARAGRAPHS) + "</div>"
    assert body_of(html_to_cleaned(page(article=article))) == PARAGRAPHS


def test_hidden_and_script_text_never_appears() -> None:
    article = "<script>var x = 'script text';</script><div hidden>hidden text</div>" + "".join(
        f"<p>{p}</p>" for p in PARAGRAPHS
    )
    text = " ".join(b.text for b in html_to_cleaned(page(article=article)).blocks)
    assert "script text" not in text and "hidden text" not in text


# --- hostile input -------------------------------------------------------------------


def test_deep_nesting_is_bounded() -> None:
    html = "<p>intro text</p>" + "<div>" * 10_000 + "<p>deep text</p>" + "</div>" * 10_000
    start = time.perf_counter()
    doc = html_to_cleaned(html)
    assert time.perf_counter() - start < 5
    # the parser stops descending at its depth limit: what is above it is kept
    assert body_of(doc)[0] == "intro text"


def test_a_page_whose_text_lies_only_past_the_depth_limit_says_so() -> None:
    html = "<div>" * 3_000 + "<p>deep text</p>" + "</div>" * 3_000
    with pytest.raises(TooLarge, match="over 2,048 levels deep"):
        html_to_cleaned(html)
    with pytest.raises(EmptyDocument, match="no visible text"):  # shallow, and empty
        html_to_cleaned("<div>" * 10 + "</div>" * 10)


def test_five_megabytes_of_junk_is_bounded() -> None:
    rng = random.Random(7)
    junk = "".join(chr(rng.randrange(0, 0x2FF)) for _ in range(5_000_000))
    start = time.perf_counter()
    try:
        doc = html_to_cleaned(junk)
        assert doc.format is InputFormat.HTML
    except PermanentError:
        pass
    assert time.perf_counter() - start < 10


def test_tag_with_a_hundred_thousand_attributes_is_refused_quickly() -> None:
    html = "<div " + " ".join(f'a{i}="1"' for i in range(100_000)) + ">text</div>"
    start = time.perf_counter()
    with pytest.raises(TooLarge):
        html_to_cleaned(html)
    assert time.perf_counter() - start < 2


def test_long_attribute_value_is_fine() -> None:
    value = "&quot;url&quot;:&quot;/a?x=1&amp;y=2&quot;," * 20_000
    html = f'<div data-props="{value}">' + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</div>"
    assert body_of(html_to_cleaned(html)) == PARAGRAPHS


def test_an_article_nested_three_hundred_elements_deep_is_read() -> None:
    # unclosed tags nest this deep on real pages; libxml2 stops at 256 by default
    article = "<div>" * 300 + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</div>" * 300
    assert body_of(html_to_cleaned(page(article=article))) == PARAGRAPHS


def test_too_many_elements_is_too_large() -> None:
    with pytest.raises(TooLarge):
        html_to_cleaned("<p>x</p>" * 1_000, max_nodes=100)


@pytest.mark.parametrize("text", ["", "   ", "<html><body></body></html>", "\x00\x01\x02"])
def test_empty_input_is_empty_document(text: str) -> None:
    with pytest.raises(EmptyDocument):
        html_to_cleaned(text)


def test_broken_jsonld_is_ignored() -> None:
    head = '<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>'
    head += '<script type="application/ld+json">' + "[" * 100_000 + "</script>"
    doc = html_to_cleaned(page(head))
    assert body_of(doc) == PARAGRAPHS


# --- layouts seen across many sites ---------------------------------------------------


def test_page_wrapped_in_one_form_still_has_a_body() -> None:
    # ASP.NET pages put the whole page inside <form>; that form is not furniture
    html = page().replace("<body>", "<body><form action='/'>").replace("</body>", "</form></body>")
    assert body_of(html_to_cleaned(html)) == PARAGRAPHS


def test_long_comment_thread_does_not_win_over_a_short_article() -> None:
    comment = (
        "<li class='comment'><div class='comment-body'><p>I disagree, because the council "
        "has never kept a promise about the bridge, and the costs will explode, as always, "
        "mark my words.</p></div></li>"
    )
    thread = f"<div id='comments' class='comments-area'><ol>{comment * 40}</ol></div>"
    doc = html_to_cleaned(page(article=f"<p>{PARAGRAPHS[0]}</p>", extra=thread))
    assert body_of(doc) == [PARAGRAPHS[0]]
    assert label_of(doc, "I disagree") is BlockLabel.BOILERPLATE


def test_per_post_taxonomy_classes_are_not_cues() -> None:
    # content systems tag the article element with its topics: "tag-social-media" is not
    # a share bar, "category-comment" is not a comment thread
    html = page().replace(
        "<article>", '<article class="post type-post tag-social-media category-comment">'
    )
    assert body_of(html_to_cleaned(html)) == PARAGRAPHS


def test_paywall_wrapper_around_the_text_keeps_the_text() -> None:
    article = '<div class="paywall">' + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</div>"
    assert body_of(html_to_cleaned(page(article=article))) == PARAGRAPHS


def test_table_layout_page() -> None:
    cells = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    html = (
        "<html><body><table><tr><td><a href='/'>Home</a> | <a href='/a'>Archive</a></td></tr>"
        f"<tr><td>{cells}</td><td><a href='/x'>Other story</a></td></tr></table></body></html>"
    )
    assert body_of(html_to_cleaned(html)) == PARAGRAPHS


def test_related_teasers_inside_the_article_are_related() -> None:
    teasers = (
        '<div class="related-stories"><h3>Read more</h3><ul><li><a href="/a">Town hall '
        'gets a new roof after the storm</a></li><li><a href="/b">School reopens</a></li>'
        "</ul></div>"
    )
    article = "".join(f"<p>{p}</p>" for p in PARAGRAPHS[:2]) + teasers
    article += "".join(f"<p>{p}</p>" for p in PARAGRAPHS[2:])
    doc = html_to_cleaned(page(article=article))
    assert body_of(doc) == PARAGRAPHS
    assert label_of(doc, "Town hall gets") is BlockLabel.RELATED


def test_date_only_line_is_a_dateline() -> None:
    article = "<p>Tuesday, 5 March 2024 09:30</p>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    doc = html_to_cleaned(page(article=article))
    assert label_of(doc, "Tuesday, 5 March") is BlockLabel.DATELINE
    assert body_of(doc) == PARAGRAPHS


def test_layout_words_that_look_like_cues_are_not_cues() -> None:
    # "commentary" (opinion), "responsive" (layout), "hidden-xs" (hidden on phones only)
    boxed = "".join(
        f'<div class="{cls}"><p>{p}</p></div>'
        for cls, p in zip(
            ["commentary", "responsive", "hidden-xs", "plain"], PARAGRAPHS, strict=True
        )
    )
    assert body_of(html_to_cleaned(page(article=boxed))) == PARAGRAPHS
