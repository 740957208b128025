"""Cue words and patterns the cleaner reads as evidence, kept as data.

Every pattern here describes a *kind* of line found on many sites (a share prompt,
a byline, a photo credit), never one site's wording. Patterns are matched
case-insensitively against one line of text; most are anchored so that a body
sentence that merely mentions a word ("the company's subscribers") is not caught.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_I = re.IGNORECASE | re.UNICODE

# ---------------------------------------------------------------------------
# Stopwords: the commonest function words per language. Their density tells
# running prose (high) from menus, headlines and names (low), and which language
# a page is in. Lists are short on purpose: the top words carry almost all the signal.
# ---------------------------------------------------------------------------
def _words(text: str) -> frozenset[str]:
    """A word list written as whitespace-separated text."""
    return frozenset(text.split())


STOPWORDS: dict[str, frozenset[str]] = {
    "en": _words(
        """a about after all also an and any are as at be been before being but by can could
        did do does for from had has have he her him his how i if in into is it its just
        more most my no not now of on one only or other our out over said says she so some
        than that the their them then there these they this those through to too up us very
        was we were what when where which while who whom why will with would you your
        because between during under again against until"""
    ),
    "de": _words(
        """aber als also am an auch auf aus bei bin bis das dass dem den der des die dies diese
        dieser doch du durch ein eine einem einen einer eines er es für hat hatte haben ich
        ihr im in ist ja kann kein mit man mehr nach nicht noch nur ob oder sich sie sind so
        über um und uns unter vom von vor war waren was wenn werden wie wir wird wurde zu
        zum zur zwischen sein seine"""
    ),
    "fr": _words(
        """à au aux avec ce ces cet cette dans de des du elle elles en est et été être il ils
        je la le les leur leurs lui mais me même ne nous on ont ou où par pas plus pour qu
        que qui sa sans se ses son sont sur ta te un une vous y été a aussi comme dont entre
        était fait ont peut sera sous tout très"""
    ),
    "es": _words(
        """a al como con de del el ella ellos en entre era es esta este esto fue ha han hay la
        las le les lo los más me mi muy no nos o para pero por que se sea ser si sin sobre
        su sus también te tiene todo un una uno y ya está son fueron había cuando donde
        desde hasta"""
    ),
    "it": _words(
        """a al alla alle anche che chi ci come con da dal dalla degli dei del della delle di e
        è gli ha hanno i il in la le lo ma mi ne nel nella non per più può se si sono su sua
        suo tra un una uno questo questa quello quella essere stato stata era anche ancora
        dopo"""
    ),
    "pt": _words(
        """a ao aos as com como da das de do dos e é ela ele eles em entre era essa esse esta
        este foi há isso já mais mas na nas no nos não o os ou para pela pelo por que se sem
        ser seu sua são também tem um uma você foram muito está pelos"""
    ),
    "nl": _words(
        """aan al als bij dan dat de deze die dit door een en er had heb hebben heeft het hij
        hoe hun ik in is je kan maar me meer met naar niet nog nu of om ook op over te tot
        uit van voor was wat we werd wie wij worden wordt zal ze zei zich zijn zo zou"""
    ),
    # Russian: Cyrillic pages are common in scraped news and must not read as menus
    "ru": _words(
        """и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по
        только ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если
        уже или ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей
        может они тут где есть надо ней для мы тебя их чем была сам чтобы без будто чего
        раз тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь
        этом один почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при
        наконец два об другой хоть после над больше тот через эти нас про всего них какая
        много разве три эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя
        такой им более всегда конечно всю между это также"""
    ),
}

# Union, for lines of a page whose language could not be told.
ANY_STOPWORDS: frozenset[str] = frozenset().union(*STOPWORDS.values())

# ---------------------------------------------------------------------------
# Calls to action, navigation and site furniture. A line matching one of these
# is boilerplate unless it is long prose (see text_lines: long lines need two cues).
#
# Each entry is (name, triggers, pattern). Patterns are written in lowercase and run
# on the lowercased line; an unanchored pattern runs only if one of its triggers
# occurs in the line, which keeps the per-line cost of ~30 patterns low. A trigger
# r"\bword\b" is a whole word of the line (a maximal run of letters); any other
# trigger is a substring. Triggers are a filter, not a rule: every match of the pattern
# must hold one of them (test_cues checks this), so they are the pattern's literal
# words, as rare as its alternatives allow. Every alternative of an _ALWAYS pattern
# starts with "^": those run on short lines only.
# ---------------------------------------------------------------------------
_ALWAYS = ("",)
#: where a site asks to be followed
_PLATFORMS = ("facebook", "twitter", "instagram", "linkedin", "youtube", "tiktok", "telegram",
              "whatsapp", "threads", "bluesky", "mastodon", "pinterest", "flipboard")
_FOLLOW_ON = rf"(follow|like|find) (us )?on ({'|'.join(_PLATFORMS)})\b.{{0,20}}"
#: a link or button to more of a list: "View all", "Show more", "See more stories"
_MORE_LINK = r"(?:view|show|load|see) (?:all|more)(?: articles| posts| stories)?"
_BOILERPLATE_CUES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    # sharing and following: "Share this", "Follow us on Twitter", "Join our Facebook page"
    ("share prompt", _ALWAYS,
     r"^(share|tweet|e-?mail|print|pin|whatsapp)( this| on| article| story|$)"),
    ("share prompt", (r"\bshare\b", r"\btweet\b"),
     r"\b(share|tweet) (this|the) (article|story|post|page)\b"),
    # a row of sharing buttons: "Share Tweet", "Facebook Twitter Email LinkedIn"
    ("share prompt", _ALWAYS,
     r"^((share|tweet|e-?mail|print|pin|save|facebook|twitter|linkedin|whatsapp|reddit|"
     r"pinterest|messenger|telegram|flipboard|sms)[ ,|·•/]*){2,}$"),
    ("follow prompt", tuple(rf"\b{platform}\b" for platform in (
        "facebook", "twitter", "instagram", "linkedin", "youtube", "telegram", "whatsapp",
        "page", "channel")),
     r"\b(follow|join|like|find|connect with) (us|our|me)\b.{0,40}"
     r"\b(facebook|twitter|instagram|linkedin|youtube|telegram|whatsapp|page|channel)\b"),
    ("follow prompt", _ALWAYS, r"^(follow|like) (us|@)"),
    # a row of "Follow on Facebook", "Follow on Instagram" buttons
    ("follow prompt", tuple(rf"\b{platform}\b" for platform in _PLATFORMS),
     rf"^{_FOLLOW_ON}$"),
    # subscriptions, newsletters, accounts, paywalls
    ("subscription pitch", (r"\bsubscribe\b", r"\bsubscribing\b", r"\bsubscription\b"),
     r"\b(subscribe|subscribing|subscription)\b.{0,60}\b(now|today|to|for|newsletter|free|"
     r"here|our)\b"),
    ("subscription pitch", (r"\bsign\b",),
     r"\bsign (up|in)\b.{0,50}\b(newsletter|free|account|now|today|here|for|to)\b|"
     r"^sign (up|in)\b"),
    ("subscription pitch", (r"\bnewsletter\b", r"\bnewsletters\b"),
     r"\bnewsletters?\b.{0,40}\b(sign|subscribe|inbox|email|free|daily|weekly|get)\b|"
     r"\b(get|our|daily|weekly)\b.{0,30}\bnewsletters?\b"),
    ("subscription pitch", (r"\balready\b", r"\blogin\b", r"\blog\b", r"\baccount\b",
                            r"\bregister\b", r"\bbecome\b"),
     r"\b(already a (subscriber|member)|log ?in|create (an|your) account|register (now|for|to)|"
     r"become a (member|subscriber|supporter))\b"),
    ("paywall appeal", (*(rf"\b{word}\b" for word in (
        "journalism", "contribution", "donation", "donate", "consider", "ask", "ad", "ads",
        "premium", "exclusive", "paywall", "unlimited")), "$", "€", "£"),
     r"\b(support (our|independent|quality) journalism|make a (contribution|donation)|"
     r"donate (now|today)|(please )?consider (supporting|subscribing|a donation)|"
     r"we ask you to|ads?-free|premium (content|section|plus|membership|access)|"
     r"exclusive content|paywall|unlimited (digital )?access)\b|for just [$€£]|"
     r"[$€£] ?\d+(\.\d\d)? (a|per) (month|week|year)\b"),
    # calls to action and reader engagement
    ("call to action", (r"\bclick\b", r"\btap\b", ">>"),
     r"\b(click|tap) here\b|\bclick (to|for|the)\b|>>\s*$"),
    ("call to action", (r"\bapp\b", r"\bfree\b"),
     r"^(download|get) (the|our) (app|free)\b|\bdownload (our|the) app\b"),
    ("call to action", tuple(rf"\b{word}\b" for word in (
        "think", "comment", "comments", "reply", "conversation", "discussion", "guidelines",
        "reserve")),
     r"\b(tell us what you think|leave a (comment|reply)|post a comment|"
     r"comments? (are|is) (closed|welcome)|join the (conversation|discussion)|"
     r"submission guidelines|reserve the right to)\b"),
    ("comment policy", tuple(rf"\b{word}\b" for word in (
        "comment", "comments", "comentário", "comentários", "comentario", "comentarios",
        "commentaire", "commentaires", "kommentar", "kommentare", "commenti", "reacties")),
     r"\b(comments?|comentários?|comentarios?|commentaires?|kommentare?|commenti|reacties)\b"
     r".{0,100}\b(moderat\w*|approv\w*|aprovad\w*|guidelines|respeito|respect|policy|rules|"
     r"closed|règles|reglas|regeln)"),
    ("call to action", (r"\bwrite\b", r"\bcontact\b", r"\bletters\b", r"\bsend\b"),
     r"\b(write to|contact) (us|the author|the editor)\b|\bletters to the editor\b|"
     r"\bsend us (a|your)\b"),
    ("engagement prompt", _ALWAYS,
     r"^(was this (article|story) (helpful|useful)|(did you|do you) (like|enjoy) this|"
     r"rate this|report an? (error|typo|correction)|see (all|more) (comments|stories))\b"),
    ("be the first", _ALWAYS, r"^be the first to (know|comment|hear|see)\b"),
    # adverts and page furniture
    ("advert", _ALWAYS,
     r"^(advertisement|advert|sponsored( content| links?)?|promoted( content)?|ad|ads|"
     r"paid (content|post|partner)|partner content|anzeige|publicidad|publicité|pubblicità)"
     r"\s*:?$"),
    ("advert", (r"\bcontinue\b",), r"^continue reading\b|\bcontinue reading (the|below|this)\b"),
    ("advert", _ALWAYS, r"^story continues|^(supported|presented|sponsored|brought to you) by\b"),
    ("cookie notice", (r"\bcookie\b", r"\bcookies\b"),
     r"\bcookies?\b.{0,80}\b(use|accept|consent|policy|settings|experience|agree)\b|"
     r"\b(we|this (site|website)) uses? cookies\b"),
    ("legal footer", ("©", "(c)", "copyright", *(rf"\b{word}\b" for word in (
        "rights", "terms", "privacy", "cookie", "accessibility", "site", "sitemap"))),
     r"(©|\(c\)|copyright\b).{0,80}(\d{4}|rights|reserved)|\ball rights reserved\b|"
     r"\b(terms (of|and) (use|service|conditions)|privacy (policy|notice|statement)|"
     r"cookie policy|accessibility statement|site ?map)\b"),
    ("navigation", _ALWAYS,
     r"^(home|menu|search|skip to (main )?content|back to top|top|next|previous|prev|older|"
     r"newer|more|close|open|toggle navigation|main menu|sections?|browse all posts?|"
     rf"{_MORE_LINK})\b.{{0,20}}$"),
    ("navigation", _ALWAYS,
     # "Next - …" but not "Next-generation …"
     r"^(previous|next)( post| article| story| page)?(\s*[:»«›‹]|\s+[\-–])|^post navigation$|"
     r"^(tags?|topics?|categories|filed under|posted in)\s*:"),
    ("navigation", ("«", "‹", "»", "›"), r"[«‹]\s*previous|next\s*[»›]"),
    ("media prompt", _ALWAYS,
     r"^(watch|listen|play|video|audio|gallery|photos?|slideshow)"
     r"( now| video| live| the video| more)?\s*:?$|^(watch|listen)\s*:"),
    ("media prompt", (r"\bbrowser\b", r"\bjavascript\b"),
     r"\b(your browser does not support|enable javascript|javascript (is )?(disabled|required))\b"),
)

# The headline of a server's or a site's error page: "404 Not Found", "Error 503", "Page
# not found | Example News", "Access denied". A status code counts with its reason
# phrase or alone; a bare word ("Forbidden") only as the whole title, and a site's name
# may follow only the explicit forms: "500 - The companies that matter" and "Access
# Denied - The new thriller" are headlines.
_STATUS_REASON = (
    r"not found|forbidden|unauthori[sz]ed|bad request|gone|internal server error|"
    r"bad gateway|gateway time-?out|service (?:temporarily )?unavailable|too many requests|"
    r"page not found|error"
)
_MISSING = (
    r"not found|(?:could not|cannot|can't|can’t) be found|does not exist|doesn't exist|"
    r"doesn’t exist|no longer exists?|is (?:not available|unavailable)"
)
_PAGE = r"(?:page|file|document|article|content|url|link)"
_SITE_SUFFIX = r"(?:\s*[|–—-]\s*[^|–—]{0,60})?"
ERROR_PAGE_TITLE = re.compile(
    r"^\W*(?:"
    # "404", "Error 404": the whole title
    r"(?:(?:http\s+)?error\s*)?[45]\d\d[\s.!]*$"
    # "404 Not Found", "Error 404 - Page Not Found", "503 Service Unavailable | Site"
    rf"|(?:(?:http\s+)?error\s*)?[45]\d\d\s*[-:–|.]?\s*(?:{_STATUS_REASON})\b[\s.!]*{_SITE_SUFFIX}$"
    # "Page not found", "The page you requested could not be found – Site"
    rf"|(?:error\s*[:-]\s*)?(?:the\s+|this\s+)?{_PAGE}(?:\s+(?:you|that you)\s+"
    rf"(?:requested|are looking for|were looking for))?\s+(?:was\s+)?(?:{_MISSING})[\s.!]*"
    rf"{_SITE_SUFFIX}$"
    # "Oops! That page can’t be found.", "Sorry, this page does not exist"
    rf"|(?:sorry|oops)\b[^|–—]{{0,30}}\b{_PAGE}\b[^|–—]{{0,30}}(?:{_MISSING})[\s.!]*"
    rf"{_SITE_SUFFIX}$"
    # "Not Found", "Access denied", "Forbidden": the whole title
    r"|(?:not found|access denied|forbidden)[\s.!]*$"
    r")",
    _I,
)

# Cues that mark even a long paragraph: cookie banners are long, and no article says this.
STRONG_CUES = frozenset({"cookie notice"})

BOILERPLATE_PATTERNS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (name, triggers, re.compile(rx)) for name, triggers, rx in _BOILERPLATE_CUES
)


#: anchored cues describe whole short lines ("Share this", "Advertisement"); longer
#: lines are not checked against them
ANCHORED_MAX_WORDS = 15


def _trie_pattern(literals: Iterable[str]) -> str:
    """One regex matching any of `literals`, as a trie ("c(?:lick|ookie)", not "click|cookie").

    The regex engine tries a flat alternation's branches one by one at every position;
    a trie tries one branch per character (on the dev corpus, less than half the time).
    """
    trie: dict[str, dict] = {}
    for literal in literals:
        node = trie
        for ch in literal:
            node = node.setdefault(ch, {})
        node[""] = {}  # a literal ends here

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        if "" not in node:
            return body
        return f"(?:{body})?"

    return build(trie)


def _split_triggers(triggers: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    """(whole words, substrings) of a pattern's triggers."""
    whole = [t.startswith("\\b") and t.endswith("\\b") for t in triggers]
    return (
        frozenset(t[2:-2] for t, w in zip(triggers, whole, strict=True) if w),
        tuple(t for t, w in zip(triggers, whole, strict=True) if not w),
    )


# Per unanchored pattern: (index, whole-word triggers, substring triggers).
_TRIGGERS: tuple[tuple[int, frozenset[str], tuple[str, ...]], ...] = tuple(
    (i, *_split_triggers(triggers))
    for i, (_, triggers, _) in enumerate(_BOILERPLATE_CUES)
    if triggers is not _ALWAYS
)
# Most lines match no cue. One set intersection with every pattern's trigger words, one
# scan for the few substring triggers, and one match of all anchored patterns at once
# rule that out before the per-pattern loop.
_ANY_TRIGGER_WORD = frozenset().union(*(words for _, words, _ in _TRIGGERS))
_ANY_TRIGGER_STRING = re.compile(_trie_pattern(t for _, _, strings in _TRIGGERS for t in strings))
# trigger word -> the patterns it lets run
_PATTERNS_OF_WORD: dict[str, frozenset[int]] = {
    word: frozenset(i for i, words, _ in _TRIGGERS if word in words) for word in _ANY_TRIGGER_WORD
}
# the patterns with substring triggers, looked at when the line holds any of those
_STRING_TRIGGERS = tuple((i, strings) for i, _, strings in _TRIGGERS if strings)
# every _ALWAYS pattern matches only at the start, so `match` of the union is exact
_ANY_ANCHORED = re.compile("|".join(
    f"(?:{rx})" for _, triggers, rx in _BOILERPLATE_CUES if triggers is _ALWAYS
))
_LETTERS = re.compile(r"[^\W\d_]+")
_DOTTED_I = "\u0130"


def _line_words(text: str, low: str, tokens: list[str] | None) -> set[str]:
    """The maximal runs of letters in `low`, from the line's word tokens when given."""
    if tokens is None or _DOTTED_I in text:
        # (words() lowercases "İ" token by token, so its tokens are not runs of `low`)
        return set(_LETTERS.findall(low))
    # tokens are runs of letters, two of them joined by an apostrophe at most
    joined = " ".join(tokens)
    if "'" in joined or "’" in joined:
        return set(joined.replace("'", " ").replace("’", " ").split())
    return set(tokens)


def boilerplate_hits(
    text: str, n_words: int, *, low: str | None = None, tokens: list[str] | None = None
) -> list[str]:
    """Names of the boilerplate cues a line of `n_words` words matches (case-insensitive).

    `low` is `text.lower()` and `tokens` is `language.words(text)`, when the caller has
    them already.
    """
    if low is None:
        low = text.lower()
    # anchored cues describe whole short lines; longer lines are not checked against them
    anchored = n_words <= ANCHORED_MAX_WORDS and _ANY_ANCHORED.match(low) is not None
    trigger_words = _line_words(text, low, tokens) & _ANY_TRIGGER_WORD
    has_string = _ANY_TRIGGER_STRING.search(low) is not None
    if not (anchored or trigger_words or has_string):
        return []
    triggered: set[int] = set()
    for word in trigger_words:
        triggered |= _PATTERNS_OF_WORD[word]
    if has_string:
        triggered.update(i for i, strings in _STRING_TRIGGERS if any(t in low for t in strings))
    hits = []
    for i, (name, triggers, rx) in enumerate(BOILERPLATE_PATTERNS):
        if triggers is _ALWAYS:
            if not anchored:
                continue
        elif i not in triggered:
            continue
        if rx.search(low):
            hits.append(name)
    return hits


# Headers that open a list of other articles ("Related", "Read more", "More stories").
# Matched only on short lines; what follows them, until prose resumes, is related.
RELATED_HEADER = re.compile(
    r"^(related( content| articles?| stories| posts| news| coverage| links| reading|"
    r" topics)?|read (more|next|also)|see also|also (read|see)|further reading|"
    r"more (stories|articles|news|coverage|from|on|in|like this|to read)\b.*|"
    r"(you|we think you) (may|might|could) (also )?(like|enjoy|be interested)\b.*|"
    r"(most|top) (popular|read|viewed|shared|stories)\b.*|latest( news| stories| articles)?\b.*|"
    r"trending( now| stories)?|recommended( for you| stories| articles)?|editor'?s picks?|"
    r"what to read next|recent (posts|articles|stories)|popular( posts| stories)?|"
    r"in other news|don'?t miss|up next|"
    # German, French, Spanish, Italian, Portuguese, Dutch
    r"lesen sie (auch|mehr)|mehr zum thema|weitere artikel|das könnte sie auch interessieren|"
    r"(à )?lire aussi|sur le même sujet|à lire également|"
    r"le(e|a) (también|más)|te puede interesar|noticias relacionadas|"
    r"leggi anche|potrebbe interessarti|articoli correlati|"
    r"leia (também|mais)|veja também|notícias relacionadas|"
    r"lees ook|meer nieuws|gerelateerd|"
    r"читайте также|смотрите также|похожие (статьи|новости)|самые популярные.*|"
    r"関連記事|相关文章|相關文章|관련 기사)\s*[:.…»>]*$",
    _I,
)

# The start of a comment section: whatever follows is readers' text, not the article.
COMMENTS_HEADER = re.compile(
    r"^(?:\d+\s+)?(?:comments?|responses?|replies|reactions|thoughts on\b.*|"
    r"responses? to\b.*|reader comments|leave a (?:comment|reply)|post a comment|"
    r"add (?:a|your) comment|show comments|view comments|join the (?:conversation|discussion)|"
    r"kommentare?|commentaires?|comentarios?|comentários?|commenti|reacties)\b.{0,60}$",
    _I,
)
# "jane_doe says:", "1. Bob wrote:": the author line of a reader comment.
COMMENT_AUTHOR = re.compile(
    r"^(?:\d{1,4}\.\s*)?\S.{0,40}\s(?:says|said|wrote|writes|commented|replied)\s*:?$", _I
)

# "Read more: <headline>": an inline link to another article, the headline is related.
INLINE_RELATED = re.compile(
    r"^(read (more|also|next)|see also|also read|related|more|recommended|watch|"
    r"lesen sie auch|lire aussi|leer más|leggi anche|leia também|lees ook)"
    r"\s*[:|»>\-–]\s*(?P<headline>\S.*)$",
    _I,
)

# ---------------------------------------------------------------------------
# Metadata lines: they belong to the article but are not its body.
# ---------------------------------------------------------------------------
def _numbered(text: str) -> dict[str, int]:
    """Month names in calendar order to their numbers."""
    return {name: i for i, name in enumerate(text.split(), 1)}


# English, German, French, Spanish, Italian, Portuguese, Dutch (full and short forms).
# Later languages overwrite earlier ones only where the name is the same month.
MONTHS: dict[str, int] = {
    **_numbered("january february march april may june july august september october "
                "november december"),
    **_numbered("jan feb mar apr may jun jul aug sep oct nov dec"),
    "sept": 9,
    **_numbered("januar februar märz april mai juni juli august september oktober november "
                "dezember"),
    **_numbered("janvier février mars avril mai juin juillet août septembre octobre "
                "novembre décembre"),
    **_numbered("enero febrero marzo abril mayo junio julio agosto septiembre octubre "
                "noviembre diciembre"),
    **_numbered("gennaio febbraio marzo aprile maggio giugno luglio agosto settembre "
                "ottobre novembre dicembre"),
    **_numbered("janeiro fevereiro março abril maio junho julho agosto setembro outubro "
                "novembro dezembro"),
    **_numbered("januari februari maart april mei juni juli augustus september oktober "
                "november december"),
}

_MONTH_RX = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_TIME_RX = r"\d{1,2}[:.h]\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?"

# A date written out: "May 20, 2011", "20 May 2011", "2011-05-20", "Nov 19, 2019".
DATE = re.compile(
    rf"(?P<iso>\b\d{{4}}-\d{{2}}-\d{{2}}(?:[T ]\d{{2}}:\d{{2}}(?::\d{{2}})?"
    rf"(?:\.\d+)?(?:Z|[+-]\d{{2}}:?\d{{2}})?)?\b)"
    rf"|(?P<mdy>\b(?P<m1>{_MONTH_RX})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y1>\d{{4}})\b)"
    rf"|(?P<dmy>\b(?P<d2>\d{{1,2}})(?:st|nd|rd|th|\.)?\s+(?:de\s+)?(?P<m2>{_MONTH_RX})\.?,?"
    rf"\s+(?:de\s+)?(?P<y2>\d{{4}})\b)"
    rf"|(?P<num>\b(?P<d3>\d{{1,2}})[/.](?P<m3>\d{{1,2}})[/.](?P<y3>\d{{4}})\b)"
    # the year first is year, month, day wherever it is written: "2016.12.01" (two digits
    # each: "2019.3.1" is a version), "2016/12/1", and in Chinese, Japanese and Korean
    # "2016年12月1日", "2016년 12월 1일"
    rf"|(?P<ymd>\b(?P<y4>\d{{4}})(?:\.(?P<m4>\d{{2}})\.(?P<d4>\d{{2}})"
    rf"|/(?P<m5>\d{{1,2}})/(?P<d5>\d{{1,2}}))\b)"
    rf"|(?P<cjk>(?<!\d)(?P<y6>\d{{4}})\s*[年년]\s*(?P<m6>\d{{1,2}})\s*[月월]\s*"
    rf"(?P<d6>\d{{1,2}})\s*[日일])",
    _I,
)
# Every DATE form has a four-digit year: text without one holds no date.
HAS_YEAR = re.compile(r"\d{4}")
TIME = re.compile(
    r"\b(?P<h>\d{1,2})[:.h](?P<min>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?"
    r"(?:\s*(?P<tz>UTC|GMT|Z|[+-]\d{2}:?\d{2}))?",
    _I,
)
# Words that may sit beside a date on a dateline without making it prose.
DATELINE_WORDS = re.compile(
    rf"\b(published|posted|updated|last updated|modified|first published|on|at|"
    rf"veröffentlicht|aktualisiert|publié|mis à jour|publicado|actualizado|pubblicato|"
    rf"aggiornato|atualizado|gepubliceerd|bijgewerkt|am|le|el|il|em|op|"
    rf"monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    rf"mon|tue|tues|wed|thu|thurs|fri|sat|sun|today|yesterday|"
    rf"utc|gmt|[ecmp][sd]t|bst|cet|cest|ist|aest|edt|est|pst|pdt|"
    rf"{_MONTH_RX})\b|{_TIME_RX}",
    _I,
)
_UPDATED_WORDS = (r"updated|modified|aktualisiert|mis à jour|actualizado|aggiornato|"
                  r"atualizado|bijgewerkt")
UPDATED = re.compile(rf"\b({_UPDATED_WORDS})\b", _I)
# Where a dateline's "Updated …" part begins, also when the page ran it into the published
# date: "Nov. 20, 2019Updated: Nov. 20, 2019 1:35 a.m."
UPDATED_START = re.compile(rf"(?<![^\W\d_])(?=(?:{_UPDATED_WORDS})\b)", _I)
# What separates the facts of a dateline row: " / ", " | ", " • ", " · "
FACT_SEPARATOR = re.compile(r"\s[/|•·]\s")

READING_TIME = re.compile(
    r"^(?:reading time:?\s*)?(?:about\s+)?(?P<n>\d{1,3})\s*(?:-\s*)?"
    r"(?:min(?:ute)?s?|mins?\.?)\s*(?:read|reading|to read|lesezeit|de lecture|de lectura|"
    r"di lettura|de leitura|leestijd)?\.?$"
    r"|^(?:reading time|lesezeit|temps de lecture|tiempo de lectura|tempo di lettura|"
    r"tempo de leitura|leestijd)\s*:?\s*(?P<n2>\d{1,3})\s*min",
    _I,
)

_NAME = r"[A-Z][\w'’.-]+(?: [A-Z][\w'’.-]+){1,3}"
#: a journalist's role, and the words that qualify it ("senior contributor")
ROLE = r"(?:correspondent|contributor|reporter|editor|writer|columnist)"
ROLE_ADJECTIVE = r"(?:senior|chief|staff|contributing|political|special|news|guest)"
# a social media handle: "@jdoe" (not the @ of an e-mail address)
_HANDLE = r"(?<![\w.])@\w{2,15}\b"
# a handle run into the name by the page's layout, "Jane Doe@jdoe": no domain follows, so
# it is not an e-mail address
GLUED_HANDLE = r"@\w{2,15}\b(?![.\w])"

# one lowercase word of letters, digits and _.-, "admin" or "jdoe2": a publishing system's
# login, which it puts where the byline goes when none was written; a name never looks so
LOGIN_NAME = re.compile(r"[a-z0-9_.-]+")

#: words of a site's section labels and the kinds of piece it runs ("Auto News", "CAR
#: REVIEWS", "Press Release", "Politik Inland"), in the languages STOPWORDS covers: a line
#: of two or three capitalised words holding one is a label, not a person's name
SECTION_WORDS = _words(
    # English
    "news reviews review features feature opinion opinions sport sports business world "
    "politics health science tech technology entertainment culture lifestyle travel video "
    "videos live latest breaking top stories story local national international home "
    "markets money weather style food arts books music movies photos photo gallery podcast "
    "podcasts analysis editorial editorials blog blogs comment comments share press "
    "release releases report reports staff exclusive interview special guest column "
    "columns essay topics hot fact check updated update last more read watch listen "
    "trending popular picks editors voices community estate recommended "
    "monday tuesday wednesday thursday friday saturday sunday morning evening weekend "
    # German, French, Spanish, Italian, Portuguese, Dutch, Russian
    "nachrichten politik wirtschaft kultur inland ausland meinung wissen panorama "
    "actualités actualites politique économie economie monde société societe "
    "noticias política politica economía economia deportes internacional nacional "
    "cultura opinión mundo notizie cronaca esteri spettacoli últimas ultimas esportes "
    "nieuws binnenland buitenland economie sportnieuws "
    "новости политика экономика спорт мир общество культура главные")

#: the last words of an outlet's name ("New York Times", "Jane Doe Reuters"): a name ending
#: so is no person's. Words that end people's names too (Sun, Post, Star, Daily, Press:
#: "Lena H. Sun", "Emily Post") are left out
OUTLET_WORDS = _words(
    "times herald journal tribune gazette telegraph guardian observer chronicle mirror "
    "independent reuters bloomberg ap afp agency wire wires magazine news networks "
    "network radio tv television")

#: the words that open a byline
_BY_WORDS = r"by|written by|words by|story by|posted by|published by|authors?|von|par|por|door"

#: the link to an author's page that a byline's name runs into: "Jane Doe View More Articles",
#: "Jane Doe See all posts" ("See All Stories" ends a section's rail more often)
AUTHOR_PAGE_LINK = r"(?:view|see)\s+(?:more|all)\s+(?:articles|posts)"

# "By Jane Doe", "By Jane Doe and John Roe, Reuters", "Jane Doe | Reuters", "Author: …",
# "Jane Doe @jdoe / 2 days", "Jane Doe Senior Contributor", "Jane Doe View More Articles"
BYLINE = re.compile(
    rf"^(?i:{_BY_WORDS})"
    r"\s*:?\s+"
    r"(?P<names>[^\W\d_][^.!?]{1,120}?)\s*$"
    rf"|^(?P<names2>{_NAME})\s*[|,]\s*"
    r"(?:reuters|ap|afp|associated press|bloomberg|staff( writer| reporter)?|"
    r"correspondent|contributor|reporter|editor)\b"
    rf"|^(?P<names3>{_NAME})(?:\s+{_HANDLE}|{GLUED_HANDLE})[^.!?]{{0,40}}$"
    rf"|^(?P<names4>{_NAME}?)\s+(?i:{ROLE_ADJECTIVE}\s+{ROLE})$"
    rf"|^(?P<names5>{_NAME}?)\s+(?i:{AUTHOR_PAGE_LINK})$",
    re.UNICODE,
)
# a line giving only an author's role and handle, the name being on another line:
# "News reporter @jdoe"
AUTHOR_ROLE = re.compile(rf"^(?:{ROLE_ADJECTIVE}\s+)*{ROLE}\s+{_HANDLE}$", _I)
BYLINE_PREFIX = re.compile(rf"^(?:{_BY_WORDS})\s*:?\s+", _I)
# a byline's opening word on a line of its own, the names being on the next line
BYLINE_WORD = re.compile(rf"^(?:{_BY_WORDS})\s*:?$", _I)

# A fact about an article that its header states beside the date, in a row of such facts:
# its author, its comment count, its reading time, its section.
HEADER_FACT = re.compile(
    rf"^(?:(?:{_BY_WORDS})\s*:?\s+\S|\d+\s+comments?$|no comments$|"
    r"\d+\s*(?:-\s*)?min(?:ute)?s?\.?\s+read$|in\s+\S|(?:updated|published|posted)\b)",
    _I,
)

#: agencies a photographer's name is followed by: "Jane Doe/AP"
_PHOTO_AGENCIES = ("AP", "AFP", "Reuters", "EPA", "Getty Images", "Getty", "PA", "Bloomberg",
                   "NASA")
_AGENCY = "|".join(_PHOTO_AGENCIES)

# Photo credits and captions: "(photo credit: X)", "Photo: X", "(AP Photo/X)",
# "Credit... X", "Getty Images", "(Image: X)".
CREDIT = re.compile(
    r"\(?\b(?:photo|image|picture|video|illustration|graphic|cover image|main image)?"
    r"\s*(?:credit|credits)\s*(?::|\.\.\.|…|-)\s*(?P<c1>[^()]{2,120}?)\)?\s*$"
    r"|\(\s*(?:photo|image|picture|foto|bild|photograph)s?\s*(?::|by)\s*(?P<c3>[^()]{2,80})\)\s*$"
    r"|^(?:photo|image|picture|foto|bild|photograph|photography|pictured)s?"
    r"\s*(?::|by|(?:copyright|source)\b\s*:?)\s*"
    r"(?P<c4>.{2,80})$"
    r"|\((?P<c2>(?:AP|AFP|Reuters|EPA|Getty|PA)\b[^()]{0,80}|[^()]{1,60}/"
    rf"(?:{_AGENCY})[^()]{{0,40}})\)\s*$"
    r"|\b(?P<c5>getty images|shutterstock|istock(?:photo)?|alamy|ap photo|afp photo|"
    r"reuters/[\w ]+)\b\s*\)?\s*$"
    # a caption's last words, after its sentence: "… isn't easy. Jane Doe/Getty"
    r"|(?:^|(?<=[.!?]) )(?P<c6>[^\W\d_][^()./]{1,60}/"
    rf"(?:{_AGENCY}|Shutterstock))\s*$",
    _I,
)
# A caption that names its own photographer in parentheses: "… (Manu Fernandez/AP)".
CREDIT_TRAILER = re.compile(r"\((?P<c>[^()]{2,60}/[^()]{2,40})\)\s*$")
# Every CREDIT match of a line that does not end in ")" (the parenthesised forms) holds
# one of these words, or starts with one of those. CREDIT tries many branches at every
# position of a line; these cheap scans of the lowercased line rule most lines out first.
_CREDIT_WORDS = re.compile(_trie_pattern((
    "credit", "getty images", "shutterstock", "istock", "alamy", "ap photo", "afp photo",
    "reuters/", *sorted({"/" + agency.split()[0].lower() for agency in _PHOTO_AGENCIES}),
)))
_CREDIT_STARTS = ("photo", "image", "pictur", "foto", "bild")
# Characters a case-insensitive pattern equates with an ASCII letter although their
# lowercase form is not that letter (İ, ı ~ i; ſ ~ s): lowercasing cannot stand in for
# IGNORECASE on a line that holds one.
_FOLDS_TO_ASCII = re.compile("[\u0130\u0131\u017f]")


def is_credit(text: str, *, low: str | None = None) -> bool:
    """True if CREDIT or CREDIT_TRAILER finds a photo credit in the line.

    `low` is `text.lower()` when the caller has it already.
    """
    # str.rstrip() strips exactly the characters \s matches, so this is "\)\s*$"
    if not text.rstrip().endswith(")"):
        if low is None:
            low = text.lower()
        if (
            not low.startswith(_CREDIT_STARTS)
            and _CREDIT_WORDS.search(low) is None
            and (text.isascii() or _FOLDS_TO_ASCII.search(text) is None)
        ):
            return False
    return find_credit(text) is not None


def find_credit(text: str) -> re.Match[str] | None:
    """Where CREDIT or CREDIT_TRAILER finds a photo credit in the line, if either does."""
    return CREDIT.search(text) or CREDIT_TRAILER.search(text)

# Salutations that open a letter-shaped appeal, and sign-offs that close it.
APPEAL_OPEN = re.compile(
    r"^(dear (reader|readers|subscriber|friend|friends|visitor|user)s?|liebe leserin|"
    r"liebe leser|cher lecteur|chère lectrice|chers lecteurs|querido lector|"
    r"cari lettori|caro leitor|beste lezer)\b.{0,20}$",
    _I,
)
APPEAL_CLOSE = re.compile(
    r"^(thank you|thanks|many thanks|sincerely|yours|best regards|regards|with thanks|"
    r"warm regards|vielen dank|merci|gracias|grazie|obrigad[oa]|bedankt)\b.{0,30}$",
    _I,
)

# Lines that carry no words at all: bullets, separators, stray symbols.
NO_WORDS = re.compile(r"^[\W_]*$", re.UNICODE)
_BULLET_MARK = r"[*+•·▪►▸●◦–-]"
BULLET = re.compile(rf"^\s*(?:{_BULLET_MARK}|\d{{1,2}}[.)])\s+")
# A button of the page's that its text rendering made a bulleted list item, under a list
# of other articles or beside a share row: "* Follow on Facebook", "• Show more". Only
# these: a bulleted line is as often an article's own list, whose items may well start
# "Sign up…" or "Next…".
BULLETED_BUTTON = re.compile(rf"^\s*{_BULLET_MARK}\s+(?:{_FOLLOW_ON}|{_MORE_LINK})\s*$", _I)
URL = re.compile(r"^(?:source:\s*)?(?P<url>https?://(?P<host>[^/\s:]+)[^\s]*)$", _I)

# Closing quotes/brackets to look past when checking how a line ends.
TRAILING_CLOSERS = "\"'”’»)]›"
# A line ending in a comma is a sentence wrapped onto the next line, never a headline.
TERMINAL_PUNCT = ".!?…:;。！？,、，"
