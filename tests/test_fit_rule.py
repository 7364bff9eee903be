"""The answer rule's fit (bench/fit_ranker.py): the precision at the score answered from.

issue 13 asks that the bot answer only where the measured precision *at that score* is high
enough; the pooled precision of all answers hides a weak band at the bottom under the many sure
answers above it. RuleTable.band_precision reads that band; the fit skips rules whose band falls
short of --marginal-precision."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from fit_ranker import RuleTable  # noqa: E402


def table(sure: list[float], right: list[bool], inscope: list[bool], answered: list[bool],
          total: list[float] | None = None) -> RuleTable:
    """A RuleTable as the fit builds it from scored questions: each question's confidence, scope,
    and its reply with the answer branch open (answered or not, right first or not)."""
    n = len(sure)
    t = RuleTable.__new__(RuleTable)
    t.sure, t.gap = np.array(sure, dtype=float), np.zeros(n)
    t.total = np.array(total if total is not None else [100.0] * n)
    t.empty, t.inscope = np.zeros(n, dtype=bool), np.array(inscope)
    kind = np.array([1 if a else 2 for a in answered], dtype=np.int8)
    t.kind = {(0.1, True): kind, (0.1, False): np.full(n, 2, dtype=np.int8)}
    t.first = {(0.1, True): np.array(right), (0.1, False): np.zeros(n, dtype=bool)}
    t.any = {(0.1, True): np.array(right), (0.1, False): np.zeros(n, dtype=bool)}
    t.ids = np.arange(n)
    return t


def rule(answer_min: float, choice_min: float = 50.0) -> dict:
    return {"answer_min": answer_min, "answer_margin": 0.0, "choice_min": choice_min, "choice_ratio": 0.1}


def test_the_band_counts_only_answers_just_above_the_threshold() -> None:
    # 99 is above the band, 91 below the threshold, 92.4 a choice list (a sibling tie): none count.
    # In the band: 92.5 right, 92.1 wrong, 93.5 right, 92.2 an out-of-scope question answered.
    t = table(sure=[99.0, 92.5, 92.1, 93.5, 91.0, 92.2, 92.4],
              right=[True, True, False, True, True, False, True],
              inscope=[True, True, True, True, True, False, True],
              answered=[True, True, True, True, True, True, False])
    assert t.band_precision(rule(92.0)) == 2 / 4
    # the pooled precision of the same rule looks far better: the sure answer above carries it
    assert t.evaluate(rule(92.0))[4] == 3 / 5
    assert t.band_precision(rule(93.0)) == 1.0          # only 93.5 is in [93, 95)


def test_a_question_the_scope_model_sends_to_the_fallback_is_not_an_answer() -> None:
    t = table(sure=[92.5, 92.6], right=[False, True], inscope=[True, True], answered=[True, True],
              total=[40.0, 100.0])
    assert t.band_precision(rule(92.0, choice_min=50.0)) == 1.0
    assert t.band_precision(rule(92.0, choice_min=30.0)) == 0.5


def test_an_empty_band_does_not_block_a_rule() -> None:
    t = table(sure=[99.0], right=[True], inscope=[True], answered=[True])
    assert t.band_precision(rule(90.0)) == 1.0
