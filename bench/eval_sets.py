"""Where the benchmarks find a catalog with questions: ../shared/eval (the tuning set beside the
checkout, or beside a worktree one level deeper) when present, else the demo county, so every
benchmark also runs in a plain clone."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL_CANDIDATES = (ROOT.parent / "shared" / "eval", ROOT.parent.parent / "shared" / "eval")
DEMO_DIR = ROOT / "content" / "data"
DEMO_QUESTIONS = ROOT / "bench" / "heldout" / "questions.csv"


def default_eval() -> tuple[Path, Path]:
    """(folder with catalog.csv and guides.csv, questions.csv with a 问题 column)."""
    for p in EVAL_CANDIDATES:
        if (p / "questions.csv").is_file():
            return p, p / "questions.csv"
    return DEMO_DIR, DEMO_QUESTIONS
