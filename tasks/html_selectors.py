"""Selectors and class/id cues the HTML cleaner reads, kept as data.

Nothing here names one site. Cues are general words web authors put in class names
and ids across many sites (`share`, `related`, `byline`…); they are matched as word
parts of the class/id string, so `article-body` and `articleBody` both hit `body`.
"""

from __future__ import annotations

import re

# --- Elements -------------------------------------------------------------------

# Never text: dropped with everything below them.
SKIP_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "svg", "math", "iframe", "object",
        "embed", "canvas", "video", "audio", "map", "head", "title", "meta", "link",
        "select", "option", "textarea", "input", "button", "dialog",
    }
)  # fmt: skip

# Elements that start a new block of text; inline content between them forms one block.
BLOCK_TAGS = frozenset(
    {
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "figcaption", "pre",
        "td", "th", "dd", "dt", "caption", "div", "section", "article", "main", "aside",
        "nav", "header", "footer", "figure", "ul", "ol", "dl", "table", "tr", "tbody",
        "thead", "tfoot", "form", "fieldset", "legend", "address", "body", "html",
        "center", "details", "summary", "hr", "menu", "picture",
    }
)  # fmt: skip

HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})

# Blocks that look like paragraphs of running text: they vote for their containers.
PARAGRAPH_TAGS = frozenset({"p", "pre", "blockquote", "td", "div", "section", "article", "dd"})

# Elements whose whole subtree is page furniture, whatever their class says.
BOILERPLATE_TAGS = frozenset({"nav", "footer", "aside", "form", "menu"})

# ARIA landmark roles with the same meaning.
BOILERPLATE_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar",
     "dialog", "alertdialog", "toolbar", "tablist"}
)  # fmt: skip

# --- Class/id cues ----------------------------------------------------------------
# Each regex is searched in the lowercased "class id" string of one element.


def _cue(words: str) -> re.Pattern[str]:
    """Compile a cue list; words match at word-part boundaries (-, _, space, camelCase)."""
    return re.compile(rf"(?:^|[\s_\-:./]|(?<=[a-z]))(?:{words})(?=$|[\s_\-:./0-9]|[a-z])")


# Containers of the article text: vote up during container scoring.
POSITIVE_CUES = re.compile(
    r"article|body|content|entry|hentry|main|page|post|text|blog|story|prose|richtext"
)

# Containers of everything else: vote down during container scoring.
NEGATIVE_CUES = re.compile(
    r"comment|combx|contact|foot|footer|footnote|masthead|media|meta|outbrain|promo|related|"
    r"scroll|shoutbox|sidebar|sponsor|shopping|tags|tool|widget|share|social|newsletter|"
    r"subscribe|advert|banner|breadcrumb|menu|nav|popup|modal|cookie|recirc|taboola|"
    r"trending|popular|most-read|signup|login"
)

# Class/id cues of lists of other articles' headlines (label RELATED).
RELATED_CUES = re.compile(
    r"related|read-?more|more-?stories|more-?from|recommend|also-?read|see-?also|"
    r"recirc|taboola|outbrain|trending|most-?(?:read|popular|viewed)|popular|"
    r"(?:^|[\s_-])next-?(?:article|story)|up-?next|further-?reading|story-?list"
)

# Class/id cues that make a whole subtree page furniture, checked in this order.
BOILERPLATE_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    # an author's biography box: about the writer, not the article
    ("author bio", re.compile(r"author-?(?:bio|box|info|profile|description|details|card)|"
                              r"about-?(?:the-?)?author|(?:^|[\s_-])bio(?:$|[\s_-])")),
    ("share", re.compile(r"share|sharing|social|sociable|follow-?us|addthis|sharethis")),
    # "commentary" is an opinion piece and "responsive" a layout word: neither is a thread
    ("comment", re.compile(r"comment(?!ary)|disqus|discussion|(?:^|[\s_-])respond(?:$|[\s_-])|"
                           r"(?:^|[\s_-])repl(?:y|ies)(?:$|[\s_-])")),
    ("cookie", re.compile(r"cookie|consent|gdpr")),
    ("newsletter", re.compile(r"newsletter|subscri|signup|sign-up|register|"
                              r"piano|membership|donat")),
    ("advert", re.compile(r"(?:^|[\s_-])ads?(?:$|[\s_-])|advert|sponsor|promo|dfp|"
                          r"(?:^|[\s_-])gpt|banner|commercial")),
    ("navigation", re.compile(r"(?:^|[\s_-])nav|navbar|navigation|menu|breadcrumb|"
                              r"pagination|pager|skip-?link|masthead|site-?header|"
                              r"site-?footer|(?:^|[\s_-])footer|toolbar|sidebar|"
                              r"(?:^|[\s_-])rail(?:$|[\s_-])")),
    # "tag-foo" alone is a per-post class (WordPress), not a tag list
    ("tags", re.compile(r"(?:^|[\s_-])tags(?:$|[\s_-])|(?:^|[\s_-])tag(?:$|\s)|"
                        r"tag-?(?:list|links|cloud|box)|keywords(?:$|\s)|topics(?:$|\s)")),
    # whole class names only: "hidden-xs" (Bootstrap) hides a box on phones, not everywhere
    ("hidden", re.compile(r"(?:^|\s)(?:hidden|is-hidden|visually-?hidden|sr-only|"
                          r"screen-?reader(?:-text|-only)?|offscreen|print-only|d-none)(?:$|\s)")),
)  # fmt: skip

# Per-post classes content systems put on the article element ("category-sport",
# "tag-social-media", "topics-ipos"): they name the post's taxonomy, not the box's role,
# so they are removed before any cue is matched.
TAXONOMY_CLASS = re.compile(
    r"(?:^|\s)(?:tag|category|topics?|post_tag|format|status|type|postid)-"
    r"(?!(?:list|links|cloud|box|wrap|container)(?:$|[\s_-]))\S+"
)

# Class/id cues that mark a single block as something other than body text.
CAPTION_CUES = re.compile(r"caption|figcaption|wp-caption-text|image-?desc|photo-?desc")
CREDIT_CUES = re.compile(r"credit|copyright|photographer|image-?source|photo-?source")
BYLINE_CUES = re.compile(r"byline|by-?line|author|contributor|writer|reporter")
DATELINE_CUES = re.compile(
    r"dateline|timestamp|pub-?date|published|publish-?date|posted-?on|(?:^|[\s_-])date(?:$|[\s_-]|time)"
)

# Inline elements that get a block of their own when their class names such a role.
INLINE_ROLE_TAGS = frozenset({"span", "small", "cite", "em", "i", "b", "strong", "a", "time"})
INLINE_ROLE_CUES = re.compile(r"credit|caption|copyright|photographer|byline|author")

# Containers that state the article text semantically (checked before scoring).
ARTICLE_BODY_ITEMPROPS = frozenset({"articlebody", "text", "reviewbody"})

# --- Structured metadata ----------------------------------------------------------

# JSON-LD @type values that describe the page's own article.
JSONLD_ARTICLE_TYPES = frozenset(
    {
        "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle",
        "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle", "blogposting",
        "socialmediaposting", "liveblogposting", "report", "scholarlyarticle", "techarticle",
        "webpage", "creativework", "claimreview",
    }
)  # fmt: skip

# Types that describe the page only when nothing more specific is there: generic ones,
# and a fact check's ClaimReview (its own author is the fact-checker; the claim's author
# is nested in itemReviewed, which is never read).
JSONLD_WEAK_TYPES = frozenset({"webpage", "creativework", "claimreview"})

# <meta> keys (name/property/itemprop, lowercased) per metadata field, strongest first.
META_KEYS: dict[str, tuple[str, ...]] = {
    "title": ("og:title", "twitter:title", "dc.title", "headline", "sailthru.title",
              "parsely-title"),
    "description": ("og:description", "description", "twitter:description",
                    "dc.description"),
    "authors": ("author", "article:author", "dc.creator", "sailthru.author",
                "parsely-author", "byl", "byline"),
    "published_at": ("article:published_time", "article:published", "datepublished",
                     "og:published_time", "pubdate", "publishdate", "publish-date", "date",
                     "dc.date.issued", "dc.date", "dcterms.created", "sailthru.date",
                     "parsely-pub-date", "article.published", "published_time"),
    "updated_at": ("article:modified_time", "article:modified", "datemodified",
                   "og:updated_time", "lastmod", "last-modified", "dcterms.modified",
                   "article.updated", "modified_time"),
    "url": ("og:url", "twitter:url"),
    "site_name": ("og:site_name", "application-name", "twitter:site"),
    "tags": ("article:tag", "keywords", "news_keywords", "parsely-tags", "sailthru.tags"),
}  # fmt: skip

# Short standalone texts that are page furniture wherever they appear (ad labels, prompts).
BOILERPLATE_TEXT = re.compile(
    r"^(?:advertisement|advertising|advert|ad|anzeige|werbung|publicité|publicidad|"
    r"pubblicità|publicidade|advertentie|реклама|sponsored(?: content)?|story continues below"
    r"(?: advertisement)?|continue reading(?: below)?|read more|share(?: this)?"
    r"(?: (?:article|story|page))?|skip to (?:main )?content|click here|loading\W*)\W*$",
    re.IGNORECASE,
)
SUBTITLE_CUES = re.compile(
    r"standfirst|subtitle|sub-?headline|(?:^|[\s_-])dek(?:$|[\s_-])|strapline|"
    r"(?:^|[\s_-])deck(?:$|[\s_-])"
)
