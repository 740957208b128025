"""Extraction benchmark: newsdrop against baselines, side by side, on an eval corpus.

Runs on every document folder of the corpus (page.html, page.txt, article.txt,
truth.json) and scores each method × input with the corpus's own scorer
(`<corpus>/../score.py`, loaded with importlib, never copied):

- newsdrop: `tasks.clean.clean` + `tasks.extract.extract` on the raw bytes, the real
  entry points, for page.html, article.txt and page.txt;
- no cleaning at all: the text files as they are;
- trafilatura: page.html, and the text files with each line as a paragraph;
- readability-lxml: page.html;
- jusText (optional): page.html, and the text files with lines as paragraphs.

Baselines are optional extras: `pip install -e '.[bench]'` (trafilatura,
readability-lxml); jusText with `pip install jusText`. A missing one is skipped with
a note. Timing (median and p95 milliseconds per document) is reported for newsdrop
and trafilatura on page.html, measured in the same process and run.

Usage (from the repository root):
    python bench/extraction.py [--corpus ../shared/eval/dev] [--json] [--worst N]
"""

from __future__ import annotations

import argparse
import html as html_lib
import importlib.util
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "eval" / "dev"
INPUTS = ("page.html", "article.txt", "page.txt")
INSTALL_HINT = {
    "trafilatura": "pip install -e '.[bench]'  (or: pip install trafilatura)",
    "readability": "pip install -e '.[bench]'  (or: pip install readability-lxml)",
    "justext": "pip install jusText",
}

Extractor = Callable[[bytes], str]


@dataclass(slots=True)
class Row:
    """Scores (and timings, where measured) of one method on one input kind."""

    method: str
    input: str
    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    accuracy: float = 0.0
    n: int = 0
    errors: int = 0
    median_ms: float | None = None
    p95_ms: float | None = None
    worst: list[tuple[float, str]] = field(default_factory=list)


def load_scorer(corpus: Path) -> ModuleType:
    """Import the corpus's scorer (score.py beside the corpus folder)."""
    path = corpus.parent / "score.py"
    if not path.is_file():
        raise SystemExit(f"scorer not found: {path}")
    spec = importlib.util.spec_from_file_location("eval_score", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load scorer from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def optional(name: str, label: str, notes: list[str]) -> ModuleType | None:
    """Import a baseline library; if that fails, None and a note saying why."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            notes.append(f"{label} not installed, skipped: {INSTALL_HINT[name]}")
            return None
        error: ImportError = exc
    except ImportError as exc:  # e.g. lxml.html.clean, split out of lxml 5.2
        error = exc
    notes.append(f"{label} is installed but cannot be imported ({error}), skipped: "
                 f"{INSTALL_HINT[name]}")
    return None


# --- methods ------------------------------------------------------------------------


def newsdrop_extractor(name: str) -> Extractor:
    """clean + extract on the raw bytes; the file name is the format hint, as in the inbox."""
    from tasks.clean import clean
    from tasks.document import RawDocument
    from tasks.errors import PermanentError
    from tasks.extract import extract

    def run(data: bytes) -> str:
        try:
            return extract(clean(RawDocument(content=data, name=name))).body
        except PermanentError:  # refused as not an article: scored as an empty body
            return ""

    return run


def no_cleaning(data: bytes) -> str:
    """The text file as it is."""
    return data.decode("utf-8", "replace")


def lines_as_html(data: bytes) -> str:
    """A text dump as HTML with one <p> per non-blank line (for HTML-only tools)."""
    lines = data.decode("utf-8", "replace").splitlines()
    paras = "".join(f"<p>{html_lib.escape(line)}</p>" for line in lines if line.strip())
    return f"<html><body><article>{paras}</article></body></html>"


def trafilatura_extractor(module: ModuleType, text_input: bool) -> Extractor:
    """trafilatura.extract with its defaults (no comments, as the benchmark expects)."""

    def run(data: bytes) -> str:
        source = lines_as_html(data) if text_input else data.decode("utf-8", "replace")
        return module.extract(source, include_comments=False) or ""

    return run


def readability_extractor(module: ModuleType) -> Extractor:
    """readability-lxml's summary, flattened to text with one line per block."""
    import lxml.html

    def run(data: bytes) -> str:
        summary = module.Document(data.decode("utf-8", "replace")).summary(html_partial=True)
        tree = lxml.html.fromstring(summary)
        for el in tree.iter("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br", "td"):
            el.tail = "\n" + (el.tail or "")
        return tree.text_content()

    return run


def justext_extractor(module: ModuleType, text_input: bool) -> Extractor:
    """jusText with the English stop list; good paragraphs joined."""
    stoplist = module.get_stoplist("English")

    def run(data: bytes) -> str:
        source = lines_as_html(data).encode() if text_input else data
        paras = module.justext(source, stoplist)
        return "\n\n".join(p.text for p in paras if not p.is_boilerplate)

    return run


def methods() -> tuple[list[tuple[str, str, Extractor]], list[str]]:
    """(method, input, extractor) triples to run, and notes about skipped baselines."""
    runs: list[tuple[str, str, Extractor]] = [
        ("newsdrop", kind, newsdrop_extractor(kind)) for kind in INPUTS
    ]
    runs += [("no cleaning", kind, no_cleaning) for kind in ("article.txt", "page.txt")]
    notes: list[str] = []
    trafilatura = optional("trafilatura", "trafilatura", notes)
    if trafilatura is not None:
        runs.append(("trafilatura", "page.html", trafilatura_extractor(trafilatura, False)))
        for kind in ("article.txt", "page.txt"):
            runs.append(("trafilatura (lines)", kind, trafilatura_extractor(trafilatura, True)))
    readability = optional("readability", "readability-lxml", notes)
    if readability is not None:
        runs.append(("readability-lxml", "page.html", readability_extractor(readability)))
    justext = optional("justext", "jusText", notes)
    if justext is not None:
        runs.append(("jusText", "page.html", justext_extractor(justext, False)))
        for kind in ("article.txt", "page.txt"):
            runs.append(("jusText (lines)", kind, justext_extractor(justext, True)))
    return runs, notes


# --- running --------------------------------------------------------------------------


TIMED = {("newsdrop", "page.html"), ("trafilatura", "page.html")}


def run_one(
    scorer: ModuleType,
    corpus: Path,
    truth: dict[str, str],
    method: str,
    kind: str,
    extractor: Extractor,
    worst: int,
) -> Row:
    """Run one extractor on every document of the corpus and score it."""
    pairs: list[tuple[str, str, str]] = []
    times: list[float] = []
    errors = 0
    docs = [d for d in truth if (corpus / d / kind).is_file()]
    if docs and (method, kind) in TIMED:
        extractor((corpus / docs[0] / kind).read_bytes())  # warm-up: imports, caches
    for doc_id in docs:
        data = (corpus / doc_id / kind).read_bytes()
        start = time.perf_counter()
        try:
            predicted = extractor(data)
        except Exception as exc:  # a baseline's crash is a data point, not a stop
            print(f"  {method} on {doc_id}/{kind}: {type(exc).__name__}: {exc}", file=sys.stderr)
            predicted = ""
            errors += 1
        times.append((time.perf_counter() - start) * 1000.0)
        pairs.append((doc_id, truth[doc_id], predicted))
    summary, per_doc = scorer.score(pairs)
    row = Row(
        method=method,
        input=kind,
        precision=summary["precision"],
        recall=summary["recall"],
        f1=summary["f1"],
        accuracy=summary["accuracy"],
        n=summary["n"],
        errors=errors,
        worst=[(round(f1, 3), doc) for f1, _p, _r, doc in per_doc[:worst]],
    )
    if (method, kind) in TIMED and times:
        ordered = sorted(times)
        row.median_ms = statistics.median(ordered)
        row.p95_ms = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return row


def _words_key(text: str | None) -> str:
    return " ".join(re.findall(r"\w+", (text or "").lower()))


def _field_key(name: str, value: Any) -> str:
    """A field's value reduced to what an agreement compares: words, in lowercase (authors
    as a sorted list of names)."""
    if name == "authors":
        return " / ".join(sorted(_words_key(author) for author in value or []))
    if name == "published_at":  # the day: a dump rarely states the time zone or seconds
        return (value or "")[:10]
    return _words_key(value)


def _same(name: str, found: str, stated: str) -> bool:
    """Titles agree when one holds the other ("Opinion | X" and "X"); authors when the
    same names are given, dates when they name the same day."""
    if not found:
        return False
    return found in stated or stated in found if name == "title" else found == stated


def field_agreement(corpus: Path, docs: list[str], name: str) -> dict[str, int]:
    """Per text input: of the pages whose HTML states field `name`, how many text dumps give
    the same value. The corpus has truth only for the body; what the page states in its
    markup is the nearest thing for the other fields."""
    from tasks.clean import clean
    from tasks.document import RawDocument
    from tasks.errors import NewsdropError
    from tasks.extract import extract

    def value_of(path: Path) -> str:
        try:
            doc = clean(RawDocument(path.read_bytes(), name=path.name))
            return _field_key(name, getattr(extract(doc), name))
        except NewsdropError:  # not an article at all: no fields either
            return ""

    stated = {d: value_of(corpus / d / "page.html") for d in docs
              if (corpus / d / "page.html").is_file()}
    stated = {d: v for d, v in stated.items() if v}
    agree: dict[str, int] = {"pages stating it": len(stated)}
    for kind in ("article.txt", "page.txt"):
        found = {d: value_of(corpus / d / kind) for d in stated if (corpus / d / kind).is_file()}
        agree[kind] = sum(1 for d, v in found.items() if _same(name, v, stated[d]))
    return agree


def render(rows: list[Row], notes: list[str], corpus: Path, worst: int) -> str:
    """The human-readable table."""
    lines = [
        f"corpus: {corpus}  ({rows[0].n if rows else 0} documents)",
        "",
        f"{'method':<22}{'input':<13}{'P':>7}{'R':>7}{'F1':>7}{'acc':>7}"
        f"{'median ms':>11}{'p95 ms':>9}",
    ]
    for row in rows:
        timing = (
            f"{row.median_ms:>11.1f}{row.p95_ms:>9.1f}"
            if row.median_ms is not None and row.p95_ms is not None
            else f"{'':>11}{'':>9}"
        )
        errors = f"  ({row.errors} errors)" if row.errors else ""
        lines.append(
            f"{row.method:<22}{row.input:<13}{row.precision:>7.3f}{row.recall:>7.3f}"
            f"{row.f1:>7.3f}{row.accuracy:>7.3f}{timing}{errors}"
        )
    if worst:
        lines.append("")
        for row in rows:
            if row.method == "newsdrop":
                shown = ", ".join(f"{doc[:8]} {f1:.3f}" for f1, doc in row.worst)
                lines.append(f"worst newsdrop/{row.input}: {shown}")
    lines += [f"note: {note}" for note in notes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run every method on the corpus, print the table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="eval folder")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--worst", type=int, default=5, help="worst newsdrop docs to list")
    args = parser.parse_args(argv)
    corpus: Path = args.corpus.resolve()
    if not corpus.is_dir():
        print(f"corpus not found: {corpus}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO))  # run as a script from anywhere: import the repo's tasks
    scorer = load_scorer(corpus)
    truth = scorer.load_truth(corpus)
    runs, notes = methods()
    rows = [run_one(scorer, corpus, truth, m, k, fn, args.worst) for m, k, fn in runs]
    agreement = {name: field_agreement(corpus, sorted(truth), name)
                 for name in ("title", "authors", "published_at")}
    if args.json:
        out = {"corpus": str(corpus), "notes": notes, "rows": [asdict(r) for r in rows],
               "agreement_with_html": agreement}
        print(json.dumps(out, indent=2))
    else:
        print(render(rows, notes, corpus, args.worst))
        for name, agree in agreement.items():
            print(f"newsdrop {name} from text dumps that match what the HTML page states "
                  f"(of {agree['pages stating it']} pages): article.txt "
                  f"{agree['article.txt']}, page.txt {agree['page.txt']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
