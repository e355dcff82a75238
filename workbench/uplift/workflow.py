"""What notebook 06 and the strategy lab share: learners compared on one held-out split.

:func:`compare_learners` fits each learner on the same training half of a randomised test and
scores it on the same held-out half (AUUC, Qini coefficient, uplift at the top 10/20/30%), so
the learners are compared on equal terms; :func:`gain_of_ranking` gives the incremental outcome
of targeting the top of a ranking when each person's effect is known (a world's truth, or a
simulation), the yardstick for the estimated gain of :func:`workbench.uplift.policy.gain_table`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.uplift.data import UpliftData, split_test
from workbench.uplift.metrics import evaluate


@dataclass
class LearnerComparison:
    """Learners fitted on one training split and scored on one held-out split.

    Attributes
    ----------
    data : UpliftData
        The randomised test.
    test : ndarray of bool
        Held-out rows of ``data`` (rows of other arms are in neither split).
    models : dict
        Learner name -> fitted :class:`~workbench.uplift.learners.UpliftModel`.
    scores : dict
        Learner name -> predicted uplift of the held-out rows.
    table : DataFrame
        One row per learner: ``learner, auuc, qini_coefficient, uplift_at_10, uplift_at_20,
        uplift_at_30`` on the held-out rows, and their ``ate`` (the same for every learner).
    """

    data: UpliftData
    test: np.ndarray
    models: dict[str, object]
    scores: dict[str, np.ndarray]
    table: pd.DataFrame

    @property
    def held_out(self) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """Features, outcomes and treatment flags of the held-out rows."""
        d = self.data
        return d.X[self.test], d.y[self.test], d.treatment[self.test]


def compare_learners(
    data: UpliftData,
    learners: Sequence[str] = ("s", "t", "x", "dr"),
    *,
    test_size: float = 0.5,
    seed: int = 0,
) -> LearnerComparison:
    """Fit every learner on one training split; score each on the same held-out split.

    Parameters
    ----------
    data : UpliftData
        A randomised test (:func:`workbench.uplift.data.read_uplift_table` or
        :func:`~workbench.uplift.data.world_uplift_table`).
    learners : sequence of str
        Among ``s, t, x, dr``.
    test_size : float, default 0.5
        Share of each arm held out (stratified by arm and outcome,
        :func:`~workbench.uplift.data.split_test`).
    seed : int, default 0
        Seed of the split and of the models.

    Returns
    -------
    LearnerComparison
    """
    from workbench.uplift.learners import UpliftModel

    test = split_test(data, test_size=test_size, seed=seed)
    train = data.compared & ~test
    models: dict[str, object] = {}
    scores: dict[str, np.ndarray] = {}
    rows = []
    for name in learners:
        m = UpliftModel(learner=name, outcome=data.outcome_kind, random_state=seed, oof=False)
        m.fit(data.X[train], data.y[train], data.treatment[train])
        s = m.predict(data.X[test])
        models[name], scores[name] = m, s
        ev = evaluate(data.y[test], data.treatment[test], s)
        rows.append(
            {
                "learner": name,
                "auuc": ev["auuc"],
                "qini_coefficient": ev["qini_coefficient"],
                **{f"uplift_at_{round(100 * float(k))}": v for k, v in ev["uplift_at"].items()},
                "ate": ev["ate"],
            }
        )
    return LearnerComparison(data, test, models, scores, pd.DataFrame(rows))


def gain_of_ranking(
    score: np.ndarray | pd.Series,
    effect: np.ndarray | pd.Series,
    n_population: int,
    budgets: Sequence[float] | np.ndarray,
) -> pd.DataFrame:
    """Incremental outcome of targeting the top of a ranking, when each effect is known.

    Parameters
    ----------
    score : array_like of shape (n,)
        The ranking (predicted uplift), highest first; ties keep their order.
    effect : array_like of shape (n,)
        Each person's true effect (e.g. a world's true uplift of the same people).
    n_population : int
        Population the sample stands for: the gain is scaled by ``n_population / n``.
    budgets : sequence of float
        Shares of the population targeted, in (0, 1].

    Returns
    -------
    DataFrame
        ``budget, targeted, incremental`` (the true gain of the ranking), ``optimum`` (of the
        best ranking: the true effects themselves) and ``random`` (of a random ranking, its
        expectation).
    """
    s = np.asarray(score, dtype=float)
    e = np.asarray(effect, dtype=float)
    if s.shape != e.shape or s.ndim != 1 or s.size == 0:
        raise ValueError("score and effect must be 1-D arrays of the same, non-zero length")
    scale = n_population / s.size
    by_score = np.cumsum(e[np.argsort(-s, kind="stable")])
    best = np.cumsum(np.sort(e)[::-1])
    rows = []
    for b in budgets:
        if not 0.0 < float(b) <= 1.0:
            raise ValueError(f"budgets must be in (0, 1], got {b!r}")
        k = int(np.floor(float(b) * s.size))
        rows.append(
            {
                "budget": float(b),
                "targeted": int(np.floor(float(b) * n_population)),
                "incremental": scale * (by_score[k - 1] if k else 0.0),
                "optimum": scale * (best[k - 1] if k else 0.0),
                "random": scale * k * float(e.mean()),
            }
        )
    return pd.DataFrame(rows)
