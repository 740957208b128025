"""Where the evaluation corpus lies, and its own scorer, for the quality gates.

The corpus is not part of the repository: it sits beside it (`../shared/eval/dev`), or
wherever NEWSDROP_TEST_EVAL_DIR points. Without it the gates skip and say where to point.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("NEWSDROP_TEST_EVAL_DIR")
              or REPO.parent / "shared" / "eval" / "dev")
SCORER = CORPUS.parent / "score.py"

needs_corpus = pytest.mark.skipif(
    not SCORER.is_file(),
    reason=f"no evaluation corpus at {CORPUS} (with score.py beside it): set "
           "NEWSDROP_TEST_EVAL_DIR to the corpus's dev folder to run the quality gates")


def load_module(name: str, path: Path) -> ModuleType:
    """A module imported from its file (the corpus's scorer is used, not copied)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def load_scorer() -> ModuleType:
    return load_module("newsdrop_eval_score", SCORER)
