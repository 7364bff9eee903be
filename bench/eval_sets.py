"""Where the benchmarks find a catalog with questions: ../shared/eval (the tuning set beside the
checkout, or beside a worktree one level deeper) when present, else the demo county, so every
benchmark also runs in a plain clone."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL_CANDIDATES = (ROOT.parent / "shared" / "eval", ROOT.parent.parent / "shared" / "eval")
DEMO_DIR = ROOT / "content" / "data"
DEMO_QUESTIONS = ROOT / "bench" / "heldout" / "questions.csv"


def shared_eval() -> Path | None:
    """../shared/eval, if this machine has it (a plain clone does not)."""
    return next((p for p in EVAL_CANDIDATES if (p / "questions.csv").is_file()), None)


def eval_files(eval_dir: str | None = None, questions: str | None = None) -> tuple[Path, Path]:
    """(folder with catalog.csv and guides.csv, CSV with a 问题 column): the ones asked for, else
    ../shared/eval and its questions, else the demo county and bench/heldout/questions.csv."""
    if eval_dir:
        folder, asked = Path(eval_dir), Path(eval_dir) / "questions.csv"
    else:
        shared = shared_eval()
        folder, asked = (shared, shared / "questions.csv") if shared else (DEMO_DIR, DEMO_QUESTIONS)
    return folder, Path(questions) if questions else asked
