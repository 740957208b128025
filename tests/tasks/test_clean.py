"""clean: every line of a text dump labelled, with general evidence."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks import cues, text_lines
from tasks.clean import CleanOptions, clean, fingerprint, line_fingerprints, text_source_key
from tasks.document import BlockLabel, CleanedDoc, InputFormat, RawDocument
from tasks.errors import TooLarge
from tasks.extract import extract
from tasks.text_lines import normalise_line

PARAGRAPHS = [
    "The city council voted on Tuesday to approve a new budget that raises spending on "
    "schools and roads, after a debate that lasted well into the night.",
    "Supporters of the plan said it would help the town recover from years of cuts, while "
    "critics warned that the money would run out before the work was finished.",
    "The mayor said she was pleased with the result and that the first projects would "
    "begin in the spring, once the contracts have been signed by all the parties.",
    "Residents who spoke at the meeting were divided, with some asking for more parks and "
    "others saying that the council should lower taxes instead of spending more.",
]


def dump(*parts: str) -> bytes:
    return "\n\n".join(parts).encode()


def labels(doc: CleanedDoc) -> dict[str, BlockLabel]:
    return {b.text: b.label for b in doc.blocks}


def body(doc: CleanedDoc) -> list[str]:
    return [b.text for b in doc.blocks if b.label is BlockLabel.BODY]


def test_plain_article_keeps_all_paragraphs() -> None:
    doc = clean(RawDocument(dump("Council approves new budget for schools", *PARAGRAPHS)))
    assert doc.format is InputFormat.TEXT
    assert body(doc) == PARAGRAPHS
    assert labels(doc)["Council approves new budget for schools"] is BlockLabel.TITLE


@pytest.mark.parametrize(
    "prompt",
    [
        "Share this article on Facebook",
        "Follow us on Twitter and Instagram for the latest news.",
        "Be the first to know - Join our Telegram channel.",
    ],
)
def test_share_and_follow_prompts_are_boilerplate(prompt: str) -> None:
    doc = clean(RawDocument(dump(*PARAGRAPHS[:2], prompt, *PARAGRAPHS[2:])))
    assert labels(doc)[prompt] is BlockLabel.BOILERPLATE
    assert body(doc) == PARAGRAPHS


def test_paywall_appeal_from_salutation_to_signature_is_boilerplate() -> None:
    appeal = [
        "Dear Readers,",
        "Independent reporting costs money, and we have chosen not to put up a paywall so "
        "that everyone can read our work, wherever they are in the world.",
        "Today we ask you to support us with a small monthly contribution.",
        "Thank you,",
        "Jane Smith, Publisher",
    ]
    doc = clean(RawDocument(dump("Budget approved", PARAGRAPHS[0], *appeal, *PARAGRAPHS[1:])))
    got = labels(doc)
    assert all(got[line] is BlockLabel.BOILERPLATE for line in appeal)
    assert body(doc) == PARAGRAPHS


def test_subscription_pitch_inside_the_body_is_dropped() -> None:
    pitch = "Sign up for our free daily newsletter to get the top stories in your inbox."
    doc = clean(RawDocument(dump(*PARAGRAPHS[:2], pitch, *PARAGRAPHS[2:])))
    assert labels(doc)[pitch] is BlockLabel.BOILERPLATE


def test_run_of_headlines_between_paragraphs_is_related() -> None:
    headlines = [
        "Mayor defends decision to close the old library",
        "Police investigate break-in at the town hall",
        "New bridge opens to traffic after two years",
    ]
    text = "\n\n".join(PARAGRAPHS[:2]) + "\n\n" + "\n".join(headlines) + "\n\n"
    text += "\n\n".join(PARAGRAPHS[2:])
    doc = clean(RawDocument(text.encode()))
    assert [b.text for b in doc.blocks if b.label is BlockLabel.RELATED] == headlines
    assert body(doc) == PARAGRAPHS


def test_related_header_opens_a_list_of_other_articles() -> None:
    tail = [
        "Related articles",
        "Mayor defends decision to close the old library",
        "Police investigate a break-in at the town hall",
    ]
    doc = clean(RawDocument(dump(*PARAGRAPHS, *tail)))
    got = labels(doc)
    assert got["Related articles"] is BlockLabel.BOILERPLATE
    assert got[tail[1]] is BlockLabel.RELATED and got[tail[2]] is BlockLabel.RELATED


def test_buttons_after_a_related_list_are_not_related_headlines() -> None:
    # the page's "Show more" and follow buttons run on below its list of other articles
    tail = [
        "Related articles",
        "* Mayor defends decision to close the old library",
        "* Police investigate a break-in at the town hall",
        "* Show more",
        "* Follow on Facebook",
        "* Follow on Instagram",
    ]
    doc = clean(RawDocument(dump(*PARAGRAPHS, *tail)))
    assert extract(doc).related == ["Mayor defends decision to close the old library",
                                    "Police investigate a break-in at the town hall"]
    assert all(labels(doc)[line] is BlockLabel.BOILERPLATE for line in tail[3:])


def test_an_articles_own_bulleted_and_numbered_lists_stay_in_its_body() -> None:
    # items that would read as buttons or pitches without their bullet are the article's
    steps = ["1. Open Settings", "2. Search for Location", "3. Tap Location Services",
             "4. Choose Never for each app"]
    provisions = ["• Sponsored by Sen. Park, the first bill caps rent increases at five "
                  "percent a year.",
                  "• Top floors of new buildings are set aside for affordable flats.",
                  "• More notice is due before an eviction, ninety days in place of thirty."]
    doc = clean(RawDocument(dump(
        *PARAGRAPHS[:2], "On an iPhone, do this:\n" + "\n".join(steps), PARAGRAPHS[2],
        "Its main provisions:\n" + "\n".join(provisions), *PARAGRAPHS[3:])))
    got = labels(doc)
    assert all(got[item] is BlockLabel.BODY for item in steps + provisions), got
    assert all(got[p] is BlockLabel.BODY for p in PARAGRAPHS)


def test_single_short_line_between_paragraphs_is_a_subheading() -> None:
    doc = clean(RawDocument(dump(*PARAGRAPHS[:2], "What happens next", *PARAGRAPHS[2:])))
    assert labels(doc)["What happens next"] is BlockLabel.BODY


@pytest.mark.parametrize(("line", "navigation"), [
    ("Next - Council approves the budget", True),
    ("Previous: Council approves the budget", True),
    ("Next-generation batteries reach the market", False),
])
def test_next_and_previous_links_are_navigation_but_a_hyphenated_next_word_is_not(
        line: str, navigation: bool) -> None:
    assert ("navigation" in cues.boilerplate_hits(line, len(line.split()))) is navigation


def test_caption_and_credit_are_metadata() -> None:
    caption = "The mayor speaks to reporters outside the town hall"
    credit = "(Photo: Jane Doe/Reuters)"
    doc = clean(
        RawDocument(dump("Council approves new budget", "By John Roe", caption, credit,
                         *PARAGRAPHS))
    )
    got = labels(doc)
    assert got[caption] is BlockLabel.CAPTION
    assert got[credit] is BlockLabel.CREDIT
    assert got["By John Roe"] is BlockLabel.BYLINE
    assert body(doc) == PARAGRAPHS


@pytest.mark.parametrize(
    ("language", "paragraph"),
    [
        (
            "de",
            "Der Stadtrat hat am Dienstag einen neuen Haushalt beschlossen, der mehr Geld für "
            "Schulen und Straßen vorsieht, nachdem die Debatte bis in die Nacht gedauert hatte.",
        ),
        (
            "fr",
            "Le conseil municipal a voté mardi un nouveau budget qui augmente les dépenses pour "
            "les écoles et les routes, après un débat qui a duré toute la nuit.",
        ),
        (
            "es",
            "El ayuntamiento aprobó el martes un nuevo presupuesto que aumenta el gasto en las "
            "escuelas y las carreteras, después de un debate que duró hasta la noche.",
        ),
    ],
)
def test_non_english_paragraph_is_body_and_language_is_recorded(
    language: str, paragraph: str
) -> None:
    doc = clean(RawDocument(dump("Titel", paragraph, paragraph.replace(",", ";"))))
    assert paragraph in body(doc)
    assert doc.metadata["language"] == language


def test_entities_and_stray_tags_are_cleaned() -> None:
    raw = "<p>The council&rsquo;s vote was &quot;historic&quot;, said the mayor &amp; her team.</p>"
    assert normalise_line(raw) == "The council’s vote was \"historic\", said the mayor & her team."


def test_source_key_is_the_host_a_dump_states() -> None:
    assert text_source_key("https://www.example.com/news/1\n\nTitle\n\nBody.") == "example.com"
    assert text_source_key("Title\n\nBody without an address.") == ""


def test_too_many_lines_is_too_large() -> None:
    with pytest.raises(TooLarge):
        clean(RawDocument(b"line\n" * 50), options=CleanOptions(max_blocks=10))


def test_fingerprint_folds_case_digits_and_punctuation() -> None:
    assert fingerprint("Posted 12 May, 2019 — SHARE!") == fingerprint("posted 3 may 2020 share")
    assert fingerprint("&amp; <b>Menu</b>") == "menu"


def test_only_short_lines_are_kept_in_the_fingerprint_cache() -> None:
    short = "Follow us on the socials, 2024 edition"
    long = "Word after word 7 " * (text_lines.FINGERPRINT_CACHED_CHARS // 10)
    before = text_lines._cached_fold.cache_info().currsize
    assert fingerprint(long) == " ".join(["word after word 0"] * (len(long) // 18))
    assert text_lines._cached_fold.cache_info().currsize == before
    assert fingerprint(short) == "follow us on the socials 0 edition"
    hits = text_lines._cached_fold.cache_info().hits
    assert fingerprint(short) == "follow us on the socials 0 edition"
    assert text_lines._cached_fold.cache_info().hits == hits + 1


# --- corpus learning -------------------------------------------------------------------
JUNK = "Grab the weekend edition at any kiosk near you, it is on sale now."
TOWNS = ["Springfield", "Riverton", "Lakeside"]


def _docs_with_junk() -> list[RawDocument]:
    """Three articles of one source: different stories, one template line in common."""
    docs = []
    for town in TOWNS:
        paragraphs = [f"In {town}: {p[0].lower()}{p[1:]}" for p in PARAGRAPHS]
        docs.append(RawDocument(dump(f"{town} approves its budget", *paragraphs[:2], JUNK,
                                     *paragraphs[2:])))
    return docs


def _body_of(raw: RawDocument) -> list[str]:
    text = raw.content.decode()
    return [p for p in text.split("\n\n") if len(p.split()) > 20]


def test_unseen_junk_line_is_kept_without_corpus_knowledge() -> None:
    for raw in _docs_with_junk():
        assert labels(clean(raw))[JUNK] is BlockLabel.BODY


def test_junk_line_is_dropped_once_the_corpus_knows_it_recurs() -> None:
    learnt = set.intersection(*(line_fingerprints(clean(raw)) for raw in _docs_with_junk()))
    assert fingerprint(JUNK) in learnt

    def lookup(source_key: str) -> set[str]:
        assert source_key == ""
        return learnt

    for raw in _docs_with_junk():
        doc = clean(raw, known_boilerplate=lookup)
        junk = next(b for b in doc.blocks if b.text == JUNK)
        assert junk.label is BlockLabel.BOILERPLATE
        assert "recurs across" in junk.reason
        assert body(doc) == _body_of(raw)


def test_recurrence_counts_appear_in_the_reason() -> None:
    raw = _docs_with_junk()[0]
    doc = clean(raw, known_boilerplate=lambda key: {fingerprint(JUNK): 12})
    junk = next(b for b in doc.blocks if b.text == JUNK)
    assert junk.reason == "recurs across 12 documents of this source"


def test_a_staff_writers_byline_and_a_dateline_stay_metadata_though_they_recur() -> None:
    # every article of a site carries its writer's byline, and dates fold to one
    # fingerprint ("may 0 0"): both recur, and both still say who wrote it and when
    headline, byline, dateline = "Council approves new budget", "By Jane Smith", "May 20, 2019"
    raw = RawDocument(dump(headline, byline, dateline, *PARAGRAPHS))
    learnt = {fingerprint(line): 40 for line in (byline, dateline, "May 21, 2019")}
    doc = clean(raw, known_boilerplate=lambda key: learnt)
    got = labels(doc)
    assert got[byline] is BlockLabel.BYLINE and got[dateline] is BlockLabel.DATELINE
    article = extract(doc)
    assert (article.title, article.authors, article.published_at) == (
        headline, ["Jane Smith"], "2019-05-20")


def test_a_recurring_related_header_still_opens_its_list() -> None:
    related = ["Mayor opens the new bridge to traffic", "School board elects a new chair"]
    raw = RawDocument(dump(*PARAGRAPHS, "Related articles", *related))
    doc = clean(raw, known_boilerplate=lambda key: {fingerprint("Related articles"): 40})
    assert body(doc) == list(PARAGRAPHS)
    assert all(labels(doc)[line] is BlockLabel.RELATED for line in related)


def _learnt_from(docs: list[CleanedDoc], min_docs: int) -> dict[str, int]:
    """What the database would return: fingerprints counted in at least `min_docs` docs."""
    counts: dict[str, int] = {}
    for doc in docs:
        for fp in line_fingerprints(doc):
            counts[fp] = counts.get(fp, 0) + 1
    return {fp: n for fp, n in counts.items() if n >= min_docs}


SUBTITLE = "Spending on schools and roads rises after a long night of debate."


def _versions(n: int) -> list[RawDocument]:
    """One article scraped `n` times, each copy with its own last line."""
    return [RawDocument(dump("Council approves new budget", SUBTITLE, "By Jane Smith",
                             "May 20, 2019", *PARAGRAPHS, JUNK, f"Updated {k} hours ago"))
            for k in range(1, n + 1)]


def test_an_article_taken_in_again_keeps_its_body_though_its_lines_recur() -> None:
    # every line of a re-scrape recurs; that says "seen before", not "template"
    copies = _versions(4)
    learnt = _learnt_from([clean(raw) for raw in copies[:3]], min_docs=3)
    assert fingerprint(PARAGRAPHS[0]) in learnt
    for raw in copies:  # the new copy, and the earlier ones run again (reprocess)
        doc = clean(raw, known_boilerplate=lambda key: learnt)
        assert labels(doc) == labels(clean(raw))  # as if nothing were known
        assert body(doc)[:4] == PARAGRAPHS and labels(doc)[SUBTITLE] is BlockLabel.SUBTITLE


def test_an_html_page_taken_in_again_keeps_its_short_paragraphs() -> None:
    short = ["The vote was close.", *(p.split(",")[0] + "." for p in PARAGRAPHS)]
    pages = [RawDocument(
        ("<html><head><title>Council approves new budget</title></head><body><article>"
         "<h1>Council approves new budget</h1>"
         + "".join(f"<p>{p}</p>" for p in short + PARAGRAPHS)
         + f"</article><footer>Updated {k} hours ago</footer></body></html>").encode(),
        name="page.html") for k in range(1, 5)]
    learnt = _learnt_from([clean(raw) for raw in pages[:3]], min_docs=3)
    assert all(fingerprint(p) in learnt for p in short)
    for raw in pages:
        doc = clean(raw, known_boilerplate=lambda key: learnt)
        assert body(doc) == body(clean(raw)) == short + PARAGRAPHS


STAGES = [f"Stage {n}: {day} May – {town}" for n, (day, town) in
          enumerate(zip((3, 10, 17, 24), TOWNS * 2, strict=False), 1)]


def test_a_list_page_taken_in_again_keeps_its_list_though_every_line_recurs() -> None:
    # a calendar has no sentence to tell a copy by: what recurs may trim it, not empty it
    copies = [RawDocument(dump("Race calendar 2024", "May 2, 2024", *STAGES,
                               f"Viewed {k} times")) for k in range(1, 5)]
    learnt = _learnt_from([clean(raw) for raw in copies[:3]], min_docs=3)
    assert all(fingerprint(stage) in learnt for stage in STAGES)
    for raw in copies:
        doc = clean(raw, known_boilerplate=lambda key: learnt)
        assert body(doc) == body(clean(raw)) and set(STAGES) <= set(body(doc))
        assert extract(doc).title == "Race calendar 2024"


def test_an_html_list_page_taken_in_again_keeps_its_list() -> None:
    pages = [RawDocument(
        ("<html><body><article><h1>Race calendar 2024</h1>"
         + "".join(f"<p>{stage}</p>" for stage in STAGES)
         + f"</article><footer>Viewed {k} times</footer></body></html>").encode(),
        name="page.html") for k in range(1, 5)]
    learnt = _learnt_from([clean(raw) for raw in pages[:3]], min_docs=3)
    for raw in pages:
        doc = clean(raw, known_boilerplate=lambda key: learnt)
        assert body(doc) == body(clean(raw)) == STAGES


def test_a_short_template_paragraph_recurring_across_html_pages_is_dropped() -> None:
    def page(town: str) -> RawDocument:
        paragraphs = [f"In {town}: {p[0].lower()}{p[1:]}" for p in PARAGRAPHS]
        return RawDocument(
            (f"<html><body><article><h1>{town} approves its budget</h1>"
             + "".join(f"<p>{p}</p>" for p in [*paragraphs[:2], JUNK, *paragraphs[2:]])
             + "</article></body></html>").encode(), name="page.html")

    pages = [page(town) for town in TOWNS]
    learnt = _learnt_from([clean(raw) for raw in pages], min_docs=3)
    assert JUNK in body(clean(pages[0]))
    for raw in pages:
        doc = clean(raw, known_boilerplate=lambda key: learnt)
        assert JUNK not in body(doc) and len(body(doc)) == len(PARAGRAPHS)


# --- properties --------------------------------------------------------------------------
_LINE = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zl", "Zp"),
        blacklist_characters="<>&\r\n\x85\u2028\u2029\ufeff",
    ),
    max_size=120,
)
_VOCABULARY = (
    "the a of and to in is was said that on for with by The Council mayor voted budget "
    "Share Follow Subscribe Related Read more: By Photo: 2019 May 20, . , ! ? “ ” * +"
)
_WORDY = st.lists(
    st.sampled_from(_VOCABULARY.split(" ")),
    max_size=40,
).map(" ".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_LINE, _WORDY, st.just("")), min_size=1, max_size=40))
def test_random_text_never_crashes_and_every_line_lands_in_one_block(lines: list[str]) -> None:
    text = "\n".join(lines)
    if not text.strip() or not any(ch.isprintable() and not ch.isspace() for ch in text):
        return
    doc = clean(RawDocument(text.encode()))
    expected = [normalise_line(line) for line in lines if line.strip()]
    assert [b.text for b in doc.blocks] == [e or line.strip() for e, line in zip(
        expected, [line for line in lines if line.strip()], strict=True)]
    assert all(b.reason for b in doc.blocks)
    normalised_input = "\n".join(expected)
    for paragraph in body(doc):
        assert paragraph in normalised_input


def test_a_drop_cap_set_apart_in_a_dump_is_joined_back_to_its_word() -> None:
    # a page's drop caps come out of a text dump as "T he": the whole word is written
    # elsewhere in the body. "R esidents", whose word is written nowhere else, stays
    # split: nothing tells it from "T cells" on the same page
    split = ["T he" + PARAGRAPHS[0][3:], PARAGRAPHS[1], PARAGRAPHS[2],
             "R esidents" + PARAGRAPHS[3][9:],
             "T cells from the donors were tested by the hospital before the trial began, "
             "the researchers said in their report to the council."]
    doc = clean(RawDocument(dump("Council approves new budget for schools", *split)))
    assert body(doc) == [*PARAGRAPHS[:3], *split[3:]]


@pytest.mark.parametrize("first", [
    # a capital that is a word of its own: "along" elsewhere makes no "Along"
    "A long night of debate ended with a vote that few had expected, and along the way "
    "the council heard from dozens of residents.",
    # a letter that names something: "tcells" is written nowhere
    "T cells from the donors were tested by the hospital before the trial began, the "
    "researchers said in their report to the council.",
])
def test_a_capital_standing_as_a_word_of_its_own_is_left_as_it_is(first: str) -> None:
    doc = clean(RawDocument(dump("Council approves new budget for schools", first,
                                 *PARAGRAPHS)))
    assert body(doc) == [first, *PARAGRAPHS]
