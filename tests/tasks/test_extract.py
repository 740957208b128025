"""extract: fields from labelled blocks; stated metadata wins; nothing is guessed."""

from __future__ import annotations

import pytest

from tasks.clean import clean
from tasks.document import Block, BlockLabel, CleanedDoc, InputFormat, RawDocument
from tasks.errors import NotAnArticle
from tasks.extract import extract, parse_date, split_credit
from tasks.version import EXTRACTOR_VERSION

B = BlockLabel


#: a headline for the tests of other fields: with none, a few words are no article
TITLE = ("A headline", B.TITLE)


def doc(*blocks: tuple[str, BlockLabel], metadata: dict | None = None) -> CleanedDoc:
    return CleanedDoc(
        format=InputFormat.TEXT,
        blocks=[Block(text=t, label=label, reason="test") for t, label in blocks],
        metadata=metadata or {},
    )


def test_fields_from_blocks() -> None:
    article = extract(
        doc(
            ("A headline", B.TITLE),
            ("A standfirst sentence.", B.SUBTITLE),
            ("By Jane Doe and John Roe", B.BYLINE),
            ("Published 3 March 2020, 14:05 | Updated 4 March 2020 09:00", B.DATELINE),
            ("5 min read", B.READING_TIME),
            ("Firefighters at the scene. (Photo: Max Muster/AFP)", B.CREDIT),
            ("First paragraph here.", B.BODY),
            ("Second paragraph, longer.", B.BODY),
            ("Read more: Another story entirely", B.RELATED),
            ("Footer", B.BOILERPLATE),
        )
    )
    assert article.title == "A headline"
    assert article.subtitle == "A standfirst sentence."
    assert article.authors == ["Jane Doe", "John Roe"]
    assert article.published_at == "2020-03-03T14:05:00"
    assert article.updated_at == "2020-03-04T09:00:00"
    assert article.reading_time_minutes == 5
    assert article.image_caption == "Firefighters at the scene."
    assert article.photo_credit == "Max Muster/AFP"
    assert article.paragraphs == ["First paragraph here.", "Second paragraph, longer."]
    assert article.body == "First paragraph here.\n\nSecond paragraph, longer."
    assert article.word_count == 6
    assert article.related == ["Another story entirely"]
    assert article.extractor_version == EXTRACTOR_VERSION


@pytest.mark.parametrize("dateline", ["Nov. 20, 2019Updated: Nov. 21, 2019 1:35 a.m.",
                                      "Nov. 20, 2019 Last updated Nov. 21, 2019 1:35 a.m."])
def test_a_dateline_gives_its_published_date_before_an_updated_one_run_into_it(
        dateline: str) -> None:
    article = extract(doc(TITLE, ("Body.", B.BODY), (dateline, B.DATELINE)))
    assert (article.published_at, article.updated_at) == ("2019-11-20", "2019-11-21T01:35:00")


def test_absent_fields_are_none_not_guessed() -> None:
    article = extract(doc((" ".join(["Only a paragraph of body text."] * 6), B.BODY)))
    assert article.title is None and article.subtitle is None
    assert article.published_at is None and article.reading_time_minutes is None
    assert article.authors == [] and article.related == []
    assert article.image_caption is None and article.photo_credit is None


def test_metadata_wins_over_blocks() -> None:
    article = extract(
        doc(
            ("Block title", B.TITLE),
            ("By Someone Else", B.BYLINE),
            ("Body text of the page.", B.BODY),
            metadata={
                "title": "Stated title",
                "authors": ["Stated Author"],
                "published_at": "2021-01-02T03:04:05+01:00",
                "url": "https://example.org/a",
                "site_name": "Example",
                "tags": ["politics"],
                "language": "de",
            },
        )
    )
    assert article.title == "Stated title"
    assert article.authors == ["Stated Author"]
    assert article.published_at == "2021-01-02T03:04:05+01:00"
    assert (article.url, article.site_name, article.tags) == (
        "https://example.org/a", "Example", ["politics"])
    assert article.language == "de"


HEADLINE = "Council approves new budget for schools and roads"
STORY = ("The city council voted on Tuesday to approve a new budget that raises spending on "
         "schools and roads, after a debate that lasted well into the night.")
MORE = ("The mayor said she was pleased with the result and that the first projects would "
        "begin in the spring, once the contracts have been signed by all the parties.")


@pytest.mark.parametrize(
    ("author_line", "authors"),
    [
        ("Catherine Shu @catherineshu / 2 days", ["Catherine Shu"]),
        ("Bruce Y. Lee Senior Contributor", ["Bruce Y. Lee"]),
        ("Staff reporter @jdoe", []),  # a role and a handle: no name to give
        ("By Ana Pérez y Luis Gómez", ["Ana Pérez", "Luis Gómez"]),
        ("By Jane Doe, Wednesday, 20 November 2019 08:05 GMT", ["Jane Doe"]),
    ],
)
def test_an_author_line_is_neither_the_title_nor_a_garbled_name(author_line, authors) -> None:
    raw = "\n\n".join([HEADLINE, author_line, "May 20, 2019", STORY, MORE])
    article = extract(clean(RawDocument(raw.encode())))
    assert article.title == HEADLINE
    assert article.authors == authors


@pytest.mark.parametrize("headline", ["Meet The New Editor", "Reporter arrested in Moscow",
                                      "Why @dril still matters to the internet"])
def test_a_headline_that_names_a_role_or_a_handle_is_still_the_title(headline) -> None:
    raw = "\n\n".join([headline, "By Jane Doe", "May 20, 2019", STORY, MORE])
    assert extract(clean(RawDocument(raw.encode()))).title == headline


@pytest.mark.parametrize("between", ["Jane Doe Florida Today", "Metro Desk wire services",
                                     "New, 6 comments", "chevron_left Browse All Posts"])
def test_a_line_between_headline_and_dateline_that_is_not_about_the_story_is_not_the_title(
        between) -> None:
    raw = "\n\n".join([HEADLINE, between, "May 20, 2019", STORY, MORE])
    assert extract(clean(RawDocument(raw.encode()))).title == HEADLINE


def test_the_nearest_headline_stays_the_title_when_one_further_up_shares_fewer_words() -> None:
    # "Follow City Council" shares a larger part of its few words with the story, but
    # fewer words than the headline does
    raw = "\n\n".join(["Follow City Council", HEADLINE, "By Jane Doe", "May 20, 2019",
                        STORY, MORE])
    assert extract(clean(RawDocument(raw.encode()))).title == HEADLINE


def test_a_byline_split_over_two_lines_names_the_author_and_is_not_the_title() -> None:
    raw = "\n\n".join([HEADLINE, "By", "Jane Doe", "May 20, 2019", STORY, MORE])
    article = extract(clean(RawDocument(raw.encode())))
    assert article.title == HEADLINE
    assert article.authors == ["Jane Doe"]


@pytest.mark.parametrize(
    ("lines", "authors"),
    [
        (["Jane Doe", "May 20, 2019 10:05"], ["Jane Doe"]),
        (["JANE DOE", "Nov. 20, 2019 Updated: Nov. 20, 2019 1:35 a.m."], ["JANE DOE"]),
        (["May 20, 2019 10:05", "Ana de Souza"], ["Ana de Souza"]),
        (["Jane Doe@janedoe", "May 20, 2019"], ["Jane Doe"]),
        (["Ольга Петрова", "May 20, 2019"], ["Ольга Петрова"]),
        # a section label, a kind of piece, a row of share buttons, a name run into its
        # outlet, a place the story names: no author
        (["Metro News", "May 20, 2019"], []),
        (["Press Release", "May 20, 2019"], []),
        (["Politik Inland", "May 20, 2019"], []),
        (["May 20, 2019", "Share Tweet"], []),
        (["Jane Doe Florida Today", "May 20, 2019"], []),
        (["Springfield Council", "May 20, 2019"], []),
    ],
)
def test_a_name_on_its_own_line_beside_the_dateline_is_the_author(lines, authors) -> None:
    raw = "\n\n".join([HEADLINE, *lines, STORY, "The Springfield Council met again.", MORE])
    article = extract(clean(RawDocument(raw.encode())))
    assert article.title == HEADLINE
    assert article.authors == authors
    assert article.published_at is not None and article.published_at.startswith("2019-")


STANDFIRST = "The vote came after months of debate over the cost of the new schools."


@pytest.mark.parametrize(
    ("lines", "authors"),
    [
        (["May 20, 2019 Jane Doe"], ["Jane Doe"]),
        ([STANDFIRST, "May 20, 2019 Ana de Souza"], ["Ana de Souza"]),
        (["Published Sun May 20, 2019 Jane Doe"], ["Jane Doe"]),
        (["May 20, 2019 10:30 AM | Jane Doe"], ["Jane Doe"]),
        (["Veröffentlicht 20. Mai 2019 Anna Schmidt"], ["Anna Schmidt"]),
        # a place the story names; a section label; a second name below the byline (an
        # editor's or a photographer's as often as an author's); the wire's place before
        # its date; an outlet
        (["May 20, 2019 Springfield Council"], []),
        (["May 20, 2019 Metro News"], []),
        (["By Jane Doe", "May 20, 2019 John Roe"], ["Jane Doe"]),
        (["Hong Kong, May 20, 2019"], []),
        (["San Francisco — May 20, 2019"], []),
        (["Jane Doe 2019-05-20 14:35:08"], []),
        (["May 20, 2019 New York Times"], []),
        # names that end as some outlets' do
        (["May 20, 2019 Lena H. Sun"], ["Lena H. Sun"]),
        (["May 20, 2019 Emily Post"], ["Emily Post"]),
        (["May 20, 2019 Jane Doe Reuters"], []),
    ],
)
def test_a_date_with_a_name_beside_it_below_the_headline_names_the_author(
        lines, authors) -> None:
    raw = "\n\n".join([HEADLINE, *lines, STORY, "The Springfield Council met again.", MORE])
    article = extract(clean(RawDocument(raw.encode())))
    assert article.title == HEADLINE
    assert article.authors == authors
    assert article.published_at is not None and article.published_at.startswith("2019-05-20")


def test_a_byline_ends_at_a_full_width_separator() -> None:
    article = extract(doc(TITLE, ("Body.", B.BODY), ("ライトハウス事務所 ／ 2016.12.01", B.BYLINE)))
    assert (article.authors, article.published_at) == (["ライトハウス事務所"], "2016-12-01")


@pytest.mark.parametrize(("line", "authors"), [
    ("Jane Doe View More Articles", ["Jane Doe"]),
    ("Jo Bloggs See all posts", ["Jo Bloggs"]),
    ("Marcus De Guzman View More Articles", ["Marcus De Guzman"]),
    ("View More Articles", []),
    # a section's rail
    ("Real Estate See All Stories", []),
    ("Editors Picks View More Articles", []),
])
def test_a_name_beside_the_link_to_its_authors_page_is_the_byline(line, authors) -> None:
    raw = "\n\n".join([HEADLINE, line, "May 20, 2019", STORY, MORE])
    article = extract(clean(RawDocument(raw.encode())))
    assert (article.title, article.authors) == (HEADLINE, authors)
    assert "View More" not in article.body


@pytest.mark.parametrize(("row", "authors"), [
    ("May 20, 2019 / 4 Comments / in Local News / by Jo Bloggs", ["Jo Bloggs"]),
    ("May 20, 2019 · 4 Comments · by Jo Bloggs", ["Jo Bloggs"]),
    ("Local News | May 20, 2019 | 5 min read", []),
    ("May 20, 2019 | By the Numbers | 3 Comments", []),  # a column's name, not a person
])
def test_a_row_of_short_facts_holding_the_date_is_the_dateline(row, authors) -> None:
    raw = "\n\n".join([HEADLINE, row, STORY, MORE])
    article = extract(clean(RawDocument(raw.encode())))
    assert (article.title, article.published_at) == (HEADLINE, "2019-05-20")
    assert article.authors == authors
    assert row not in article.body


@pytest.mark.parametrize("dateline", ["May 20, 2019 | 10:30 AM", "May 20, 2019 · 10:30 AM",
                                      "Posted May 20, 2019 / 10:30 AM / 4 Comments"])
def test_a_time_in_its_own_part_of_the_dateline_completes_the_day_before_it(
        dateline: str) -> None:
    article = extract(doc(TITLE, ("Body.", B.BODY), (dateline, B.DATELINE)))
    assert article.published_at == "2019-05-20T10:30:00"


@pytest.mark.parametrize(("dateline", "published", "updated"), [
    ("2019-05-20 | 10:30 PM", "2019-05-20T22:30:00", None),
    ("Nov. 20, 2019 Updated: 1:35 a.m.", "2019-11-20", None),
    ("Published Nov. 20, 2019 Updated 3:12 p.m. ET", "2019-11-20", None),
    ("May 20, 2019 | 1.25K views", "2019-05-20", None),
    ("May 20, 2019 · Episode 3.14", "2019-05-20", None),
    ("May 20, 2019 | Runtime 12:45", "2019-05-20", None),
])
def test_only_a_part_that_is_a_time_and_nothing_else_completes_the_day(
        dateline: str, published: str, updated: str | None) -> None:
    article = extract(doc(TITLE, ("Body.", B.BODY), (dateline, B.DATELINE)))
    assert (article.published_at, article.updated_at) == (published, updated)


def test_a_time_stated_before_the_day_is_no_part_of_it() -> None:
    article = extract(doc(TITLE, ("Body.", B.BODY), ("10:30 AM | May 20, 2019", B.DATELINE)))
    assert article.published_at == "2019-05-20"


def test_a_related_list_in_the_menus_ends_where_the_articles_own_header_begins() -> None:
    raw = "\n".join(["Trending", "* Climate change news", "* Vaping risks and updates",
                     "1. Home", "2. News", HEADLINE, "By Jane Doe", "May 20, 2019", "",
                     STORY, "", MORE])
    article = extract(clean(RawDocument(raw.encode())))
    assert (article.title, article.authors) == (HEADLINE, ["Jane Doe"])
    assert article.published_at == "2019-05-20"


@pytest.mark.parametrize("row", ["When: Friday, June 7, 2019 / Where: Harbour Stage / Tickets: $45",
                                 "Local elections 2019 | May 2, 2019 | Live results"])
def test_a_row_of_facts_with_a_date_that_an_article_header_would_not_state_is_no_dateline(
        row: str) -> None:
    raw = "\n\n".join([HEADLINE, "By Jane Doe", "May 20, 2019", STORY, row, MORE])
    article = extract(clean(RawDocument(raw.encode())))
    assert (article.title, article.published_at) == (HEADLINE, "2019-05-20")
    assert article.paragraphs[0] == STORY and MORE in article.paragraphs


def test_a_list_of_teasers_with_bylines_ends_at_the_articles_own_dated_header() -> None:
    teasers = ["Related Stories", "Bridge reopens after two years of repairs",
               "By Other Writer", "Library extends its opening hours on weekends",
               "By Third Writer"]
    raw = "\n".join([*teasers, HEADLINE, "By Jane Doe", "May 20, 2019", "", STORY, "", MORE])
    article = extract(clean(RawDocument(raw.encode())))
    assert (article.title, article.authors) == (HEADLINE, ["Jane Doe"])
    # with no header of the article's own, the last teaser is no title and its writer no
    # author: the item above it has the same shape
    raw = "\n".join([*teasers, "", STORY, "", MORE])
    article = extract(clean(RawDocument(raw.encode())))
    assert (article.title, article.authors) == (None, [])
    assert article.related == [teasers[1], teasers[3]]


def test_a_teaser_with_a_date_right_above_the_body_stays_in_its_related_list() -> None:
    raw = "\n".join(["More stories like this one", "Bridge reopens after two years of repairs",
                     "May 2, 2018", "Library extends its opening hours on weekends",
                     "June 3, 2018", "", STORY, "", MORE])
    article = extract(clean(RawDocument(raw.encode())))
    assert article.related == ["Bridge reopens after two years of repairs",
                               "Library extends its opening hours on weekends"]
    assert article.published_at is None and article.title is None


def test_a_title_cased_headline_ending_in_a_question_mark_is_the_title() -> None:
    raw = "\n\n".join(["City News", "Will The Council Fund New Schools?", "By Jane Doe",
                        "May 20, 2019", STORY, MORE])
    assert extract(clean(RawDocument(raw.encode()))).title == "Will The Council Fund New Schools?"


def test_a_title_cased_standfirst_below_the_headline_stays_the_subtitle() -> None:
    standfirst = "Council Approves New Budget For Schools And Roads After Night Of Debate."
    raw = "\n\n".join([HEADLINE, standfirst, "By Jane Doe", "May 20, 2019", STORY, MORE])
    article = extract(clean(RawDocument(raw.encode())))
    assert (article.title, article.subtitle) == (HEADLINE, standfirst)


def test_a_caption_ending_in_a_photographer_and_agency_is_a_credit_not_the_title() -> None:
    raw = "\n\n".join([HEADLINE, "By Jane Doe", "May 20, 2019",
                        "The council chamber was full. Jane Roe/Getty", STORY, MORE])
    article = extract(clean(RawDocument(raw.encode())))
    assert article.title == HEADLINE
    assert article.photo_credit == "Jane Roe/Getty"
    assert article.image_caption == "The council chamber was full."


def test_a_headline_above_a_caption_that_carries_its_credit_is_the_title() -> None:
    caption = "Council members vote in the town hall on Tuesday, May 20, 2019."
    raw = "\n\n".join([HEADLINE, f"{caption} (Jo Doe/AP)", "Associated Press May 20, 2019",
                        STORY, MORE])
    article = extract(clean(RawDocument(raw.encode())))
    assert (article.title, article.image_caption, article.photo_credit) == (
        HEADLINE, caption, "Jo Doe/AP")


def test_an_image_copyright_line_in_the_body_is_a_credit_not_a_byline() -> None:
    raw = "\n\n".join([HEADLINE, "By Jane Doe", "May 20, 2019", STORY,
                        "Image copyright @citycouncil @citycouncil", MORE])
    article = extract(clean(RawDocument(raw.encode())))
    assert article.authors == ["Jane Doe"]
    assert article.photo_credit == "@citycouncil @citycouncil"


@pytest.mark.parametrize("title", ["404 Not Found", "Error 404", "503 Service Unavailable",
                                   "Page not found", "Sorry, this page does not exist",
                                   "The page you requested could not be found", "Access denied"])
def test_an_error_page_is_not_an_article(title: str) -> None:
    raw = "\n\n".join([title, "The requested URL was not found on this server. It may have "
                                "been moved or deleted, or you may have mistyped it."])
    with pytest.raises(NotAnArticle, match="an error page"):
        extract(clean(RawDocument(raw.encode())))


@pytest.mark.parametrize("title", ["Missing hiker not found after three days",
                                   "404 Not Found: the web's most famous error turns 30",
                                   "500 people evacuated as the river rises",
                                   "Access Denied - The new thriller everyone talks about",
                                   "500 - The companies that matter most",
                                   "Forbidden – Review", "451 | Books",
                                   "Sorry, the mayor could not be found"])
def test_a_short_article_titled_like_an_error_is_still_an_article(title: str) -> None:
    raw = "\n\n".join([title, "By Jane Doe", "May 20, 2019", STORY, MORE])  # 61 words
    assert extract(clean(RawDocument(raw.encode()))).title == title


def test_a_login_name_on_the_byline_is_not_an_author() -> None:
    article = extract(doc(TITLE, ("Body.", B.BODY), ("by jdoe_admin and Jane Roe", B.BYLINE)))
    assert article.authors == ["Jane Roe"]


@pytest.mark.parametrize(("paragraph", "language", "word_count"), [
    ("東京都は火曜日、新しい橋の建設計画を承認したと発表しました。", "ja", 15),
    ("北京市政府周二宣布批准了一项新的桥梁建设计划。", "zh", 12),
    ("서울시는 화요일에 새로운 다리 건설 계획을 승인했다고 밝혔다.", "ko", 8),
    ("Το δημοτικό συμβούλιο ενέκρινε την Τρίτη το σχέδιο για τη νέα γέφυρα.", "el", 12),
])
def test_a_text_in_a_language_without_stopwords_gets_its_scripts_language_and_word_count(
        paragraph: str, language: str, word_count: int) -> None:
    article = extract(doc(TITLE, (paragraph, B.BODY)))
    assert (article.language, article.word_count) == (language, word_count)


def test_authors_never_come_from_related_blocks() -> None:
    article = extract(doc(TITLE, ("Body.", B.BODY), ("By Jane Doe", B.RELATED)))
    assert article.authors == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("May 20, 2011 02:52", "2011-05-20T02:52:00"),
        ("Nov. 19, 2019 9:02 PM", "2019-11-19T21:02:00"),
        ("Wednesday 20 November 2019 9:22 am", "2019-11-20T09:22:00"),
        ("PUBLISHED: 10:48, Tue, Nov 19, 2019", "2019-11-19T10:48:00"),
        ("2018-09-16", "2018-09-16"),
        ("2019-11-20T14:35:08Z", "2019-11-20T14:35:08+00:00"),
        ("13/06/2014", "2014-06-13"),
        ("03/04/2014", None),  # day and month cannot be told apart
        ("20. März 2019", "2019-03-20"),
        ("12 de mayo de 2020", "2020-05-12"),
        ("May 20, 2011 02:52 EDT", "2011-05-20T02:52:00"),  # named zone: not invented
        # the year first: year, month, day wherever it is written
        ("2016.12.01", "2016-12-01"),
        ("by Jane Doe ／ 2016/12/1 10:30", "2016-12-01T10:30:00"),
        ("2016年12月1日 10:30", "2016-12-01T10:30:00"),
        ("2019년 11월 20일", "2019-11-20"),
        ("2016.13.01", None),
        ("version 2.10.1", None),
        ("PyCharm 2019.3.1 was released", None),  # a version: dotted dates take two digits
        ("12019年1月2日", None),
        # a second date is no time of day for the first
        ("Posted 2016.12.01 / Updated 2017.01.05", "2016-12-01"),
        ("입력 2019.11.20 수정 2019.11.21", "2019-11-20"),
        ("no date here", None),
    ],
)
def test_parse_date(text: str, expected: str | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("line", "credit", "caption"),
    [
        ("Vadim Laderman 311. (photo credit: Assaf Shilo/Israel Sun)", "Assaf Shilo/Israel Sun",
         "Vadim Laderman 311."),
        ("He didn’t get it. Credit... Doug Mills/The New York Times",
         "Doug Mills/The New York Times", "He didn’t get it."),
        ("Nadal celebrates a point in Madrid. (Manu Fernandez/AP)", "Manu Fernandez/AP",
         "Nadal celebrates a point in Madrid."),
        ("Police at the scene (Image: GETTY )", "GETTY", "Police at the scene"),
    ],
)
def test_split_credit(line: str, credit: str, caption: str) -> None:
    assert split_credit(line) == (credit, caption)


def test_language_is_guessed_from_the_body() -> None:
    article = extract(doc(
        TITLE, ("Der Rat hat am Dienstag den Haushalt beschlossen, und die Stadt ist froh.", B.BODY)
    ))
    assert article.language == "de"


def test_a_file_with_no_article_text_is_refused_as_not_an_article():
    from tasks.errors import NotAnArticle

    with pytest.raises(NotAnArticle, match="no article text found: its only block is "):
        extract(clean(RawDocument(b"Subscribe to our newsletter\n", "teaser.txt")))
    with pytest.raises(NotAnArticle, match=r"all 3 of its blocks are labelled \w"):
        extract(doc(("Home", B.BOILERPLATE), ("Sport", B.BOILERPLATE), ("A headline", B.TITLE)))


def test_bytes_that_decode_to_symbols_are_refused():
    from tasks.errors import NotAnArticle

    with pytest.raises(NotAnArticle):
        extract(clean(RawDocument(bytes(range(0x80, 0xA0)) * 40, "junk.txt")))


def test_a_body_that_is_mostly_symbols_is_not_prose():
    from tasks.errors import NotAnArticle

    doc = CleanedDoc(format=InputFormat.TEXT, blocks=[
        Block("Headline", BlockLabel.TITLE),
        Block("‚ѓ„…†‡€‰Љ‹ЊЌЋЏђ‘’“”•–—™љ›њќћџ ‚ѓ„…†‡€‰ ab", BlockLabel.BODY)])
    with pytest.raises(NotAnArticle, match="not prose"):
        extract(doc)


@pytest.mark.parametrize("text", [
    "Plain ASCII prose, with digits 1984 and punctuation!\n\tTabs too.",
    "“Curly quotes” — and dashes, café, naïve, Zürich 2024.",
    "ראש הממשלה אמר ביום שלישי כי 25 אחוז… «Привет, мир» 東京都 ½ ² ①",
    "\u00a0\u2003non-breaking\u2009spaces\u3000and ideographic ones",
    "",
])
def test_letter_count_agrees_with_str_isalpha_and_isspace(text: str) -> None:
    from tasks.extract import _letter_count

    visible = [c for c in text if not c.isspace()]
    assert _letter_count(text) == (len(visible), sum(c.isalpha() for c in visible))


@pytest.mark.parametrize("text", [
    # a few rows of a spreadsheet: too few to be told as a table by their shape
    "url,title,date\nhttps://example.com/a,Harbour strike ends,2024-05-01\n"
    "https://example.com/b,Council budget,2024-05-02\n",
    # a note dropped in the inbox by mistake
    "Hi team,\n\nThe meeting moved to 3pm tomorrow. Bring the draft of the harbour story."
    "\n\nThanks,\nAna\n",
])
def test_a_few_words_with_no_title_are_no_article(text: str) -> None:
    from tasks.errors import NotAnArticle

    with pytest.raises(NotAnArticle, match=r"no title and only \d+ words of text: too little "
                                           "to be an article"):
        extract(clean(RawDocument(text.encode(), "note.txt")))


def test_thirty_words_with_no_title_are_enough() -> None:
    from tasks.errors import NotAnArticle
    from tasks.extract import UNTITLED_MIN_WORDS

    words = ["word"] * UNTITLED_MIN_WORDS
    assert extract(doc((" ".join(words) + ".", B.BODY))).word_count == UNTITLED_MIN_WORDS
    with pytest.raises(NotAnArticle):
        extract(doc((" ".join(words[1:]) + ".", B.BODY)))


def test_a_short_text_with_a_headline_or_enough_words_is_an_article() -> None:
    brief = "Harbour strike ends after nine days. " * 3
    assert extract(doc(TITLE, (brief, B.BODY))).word_count == 18
    untitled = extract(doc(((brief + "\n") * 2, B.BODY)))
    assert untitled.title is None and untitled.word_count == 36
