"""Inputs of uplift modelling: a randomised test, one row per person, read and checked.

An uplift model learns, from a randomised test, whose outcome the treatment changes. Its input is
one row per person who was in the test: the **arm** they were randomised to, the **outcome**
measured afterwards (0/1 for a conversion, a number such as revenue) and the **features** known
*before* the treatment (pre-treatment: a feature measured after it would leak the outcome).

Two ways in, both giving an :class:`UpliftData`:

* :func:`read_uplift_table` reads a user's file (CSV, CSV.gz or Parquet; e.g. the Hillstrom
  e-mail test) and checks it, each problem one :class:`~workbench.errors.DataError` naming the
  file, the column and the first offending rows (CSV rows by their line in the file);
* :func:`world_uplift_table` builds the table from an experiment of a world: its assignments,
  the subscriber features as of the experiment's start and the orders in its window.

Rows of arms other than the two compared (Hillstrom's "Womens E-Mail" when comparing "Mens
E-Mail" with "No E-Mail") are kept, so that they can be scored, but they are never fitted nor
evaluated: their ``treatment`` is ``-1``.

Features: every column but the arm and the outcome unless ``features`` names them. Numbers become
float (missing values stay ``NaN``), booleans 0/1, text columns pandas ``category`` (categories
sorted; a text column with more than :data:`MAX_CATEGORIES` distinct values is probably an id or
free text and is refused: leave it out with ``features``). There is no guessing of id columns:
name the features to leave one out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import DataError, WorkbenchError

#: A text feature with more distinct values than this is refused (an id or free text).
MAX_CATEGORIES = 200
#: Fewest rows per compared arm for a model to be worth fitting.
MIN_ROWS_PER_ARM = 50
#: Kinds of outcome: ``auto`` is binary when every value is 0 or 1.
OUTCOME_KINDS = ("auto", "binary", "continuous")
#: Outcomes a world's experiment gives (:func:`world_uplift_table`).
WORLD_OUTCOMES = ("conversion", "revenue")


@dataclass(frozen=True)
class UpliftData:
    """A checked randomised test, one row per person, ready for an uplift model.

    Attributes
    ----------
    X : DataFrame
        The features (float columns and pandas ``category`` columns; ``NaN`` where missing), one
        row per input row in input order. From a world it is indexed by ``subscriber_id``.
    y : ndarray of float
        The outcome (0/1 for a binary outcome). Rows of other arms may hold ``NaN``.
    treatment : ndarray of int8
        1 = treatment arm, 0 = control arm, -1 = another arm (scored, never fitted).
    rows : ndarray of int64
        Each row's 0-based row number in the input (the file's data rows, or the experiment's
        assignments sorted by subscriber).
    feature_names : tuple of str
        The columns of ``X``.
    source : str
        Where the table came from, for messages.
    outcome_kind : {"binary", "continuous"}
        The kind of the outcome.
    treatment_name, control_name : str
        The two arms compared.
    experiment_id : int or None
        The world's experiment the table comes from (None for a file).
    window_days : float or None
        Length of the window the outcome counts (None for a file).
    dropped : tuple of str
        Columns of a file left out of the default features because they differ between the arms
        far beyond chance (:func:`imbalanced`): measured after the email, most likely.
    imbalanced : tuple of str
        Features the user named that differ so between the arms (kept, but worth a warning).
    """

    X: pd.DataFrame
    y: np.ndarray
    treatment: np.ndarray
    rows: np.ndarray
    feature_names: tuple[str, ...]
    source: str
    outcome_kind: str = "binary"
    treatment_name: str = "treatment"
    control_name: str = "control"
    experiment_id: int | None = None
    window_days: float | None = None
    dropped: tuple[str, ...] = ()
    imbalanced: tuple[str, ...] = ()

    @property
    def compared(self) -> np.ndarray:
        """Boolean mask of the rows of the two compared arms (``treatment >= 0``)."""
        return self.treatment >= 0

    @property
    def n_other(self) -> int:
        """Number of rows of other arms (scored only)."""
        return int((self.treatment < 0).sum())


# ---------------------------------------------------------------------------------- helpers


def _shown(names: Sequence[Any], most: int = 12) -> str:
    names = [str(n) for n in names]
    return ", ".join(names[:most]) + (", ..." if len(names) > most else "")


def _labels(frame: pd.DataFrame, mask: np.ndarray) -> tuple[int, list[str]]:
    """How many rows ``mask`` selects, and the labels of the first five (line N / row i)."""
    from workbench._read import row_labels

    idx = np.flatnonzero(mask)
    return len(idx), row_labels(frame, idx[:5].tolist())


def _arm_text(value: Any) -> str:
    """An arm value as text: ``1`` rather than ``1.0``."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _arm_mask(col: pd.Series, name: str) -> np.ndarray:
    """Rows of ``col`` whose arm is ``name`` (numbers compared as numbers)."""
    present = col.notna().to_numpy()
    if pd.api.types.is_bool_dtype(col.dtype):
        return present & (col.astype(str).to_numpy() == name.strip())
    if pd.api.types.is_numeric_dtype(col.dtype):
        try:
            value = float(name)
        except ValueError:
            return np.zeros(len(col), bool)
        return present & (col.to_numpy(float, na_value=np.nan) == value)
    text = (
        col.astype(object)
        .where(col.notna(), None)
        .map(lambda v: None if v is None else str(v).strip())
    )
    return present & (text.to_numpy(object) == name.strip())


def _outcome(
    frame: pd.DataFrame, col: str, source: str, compared: np.ndarray, kind: str
) -> tuple[np.ndarray, str]:
    """The outcome as float, checked on the compared rows; and its kind."""
    raw = frame[col]
    if pd.api.types.is_bool_dtype(raw.dtype):
        y = raw.to_numpy(float)
        missing = np.zeros(len(raw), bool)
        bad = missing
    else:
        missing = raw.isna().to_numpy()
        if pd.api.types.is_numeric_dtype(raw.dtype):
            y = raw.to_numpy(float, na_value=np.nan)
        else:
            text = (
                raw.astype(object)
                .where(raw.notna(), None)
                .map(lambda v: None if v is None else str(v).strip())
            )
            missing = missing | (text == "").to_numpy()
            y = pd.to_numeric(text, errors="coerce").to_numpy(float)
        bad = ~missing & ~np.isfinite(y)
    for mask, problem in (
        (missing & compared, "missing outcome values"),
        (bad & compared, "outcome values that are not (finite) numbers"),
    ):
        if mask.any():
            n, first = _labels(frame, mask)
            raise DataError(source, col, problem, n, first)
    y = np.where(missing | bad, np.nan, y)
    binary01 = compared & ~np.isin(y, (0.0, 1.0))
    if kind == "auto":
        kind = "continuous" if binary01.any() else "binary"
    elif kind == "binary" and binary01.any():
        n, first = _labels(frame, binary01)
        raise DataError(source, col, "a binary outcome must be 0 or 1; other values", n, first)
    return y, kind


def _feature(frame: pd.DataFrame, col: str, source: str) -> pd.Series:
    """One feature column as float or category (sorted categories)."""
    s = frame[col]
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("int64").astype(float)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return pd.Series(s.to_numpy(float, na_value=np.nan), index=s.index, name=col)
    if pd.api.types.is_datetime64_any_dtype(s.dtype) or isinstance(
        s.dtype, pd.PeriodDtype | pd.IntervalDtype
    ):
        raise DataError(
            source, col, "a date/time column is not a feature (leave it out with --features)"
        )
    values = s.astype(object).where(s.notna(), None)
    kinds = {type(v) for v in values if v is not None}
    if kinds and kinds <= {bool, np.bool_}:
        return values.map(lambda v: np.nan if v is None else float(v)).astype(float)
    # a plain list: pandas 3 turns None into NaN in a Series of text
    text = [None if v is None or not str(v).strip() else str(v).strip() for v in values]
    levels = sorted({v for v in text if v is not None})
    if len(levels) > MAX_CATEGORIES:
        raise DataError(
            source,
            col,
            f"text column with {len(levels):,} distinct values (an id or free text?): more than "
            f"{MAX_CATEGORIES} categories; leave it out with --features",
        )
    return pd.Series(pd.Categorical(text, categories=levels), index=s.index, name=col)


def _features_frame(frame: pd.DataFrame, names: Sequence[str], source: str) -> pd.DataFrame:
    if not names:
        raise DataError(source, None, "no feature column left (give --features)")
    return pd.DataFrame({c: _feature(frame, c, source) for c in names}, index=frame.index)


def _check_size(treatment: np.ndarray, names: tuple[str, str], source: str, col: str) -> None:
    for code, name in zip((1, 0), names, strict=True):
        n = int((treatment == code).sum())
        if n < MIN_ROWS_PER_ARM:
            raise DataError(
                source,
                col,
                f"only {n} rows in arm '{name}' (at least {MIN_ROWS_PER_ARM} per arm): the test "
                "is too small to model uplift",
            )


def _check_kind(kind: str) -> None:
    if kind not in OUTCOME_KINDS:
        raise WorkbenchError(
            f"outcome kind must be one of {', '.join(OUTCOME_KINDS)}, got {kind!r}"
        )


# ------------------------------------------------------------------------------------- files


def read_uplift_table(
    path: str | Path,
    *,
    treatment_col: str,
    treatment: str,
    control: str,
    outcome: str,
    features: Sequence[str] | None = None,
    outcome_kind: str = "auto",
) -> UpliftData:
    """Read and check a randomised test: one row per person, arm, outcome and features.

    Parameters
    ----------
    path : path
        CSV (``.csv``, ``.csv.gz``, ``.txt``) with a header line, or Parquet (file or folder).
    treatment_col : str
        Column of the arm each row was randomised to.
    treatment, control : str
        The arm treated and the control arm, as written in ``treatment_col`` (numbers are compared
        as numbers: ``"1"`` matches ``1`` and ``1.0``). Rows of any other arm are kept for scoring
        with ``treatment == -1``.
    outcome : str
        Column of the outcome: 0/1 or a number; checked on the rows of the two arms.
    features : sequence of str, optional
        Feature columns (default: every column but ``treatment_col`` and ``outcome``).
    outcome_kind : {"auto", "binary", "continuous"}
        ``"auto"`` is binary when every outcome of the two arms is 0 or 1.

    Returns
    -------
    UpliftData
        ``rows`` are the 0-based data rows of the file (every row is kept, in file order).

    Raises
    ------
    DataError
        One line naming the file, the column and the first offending rows: a damaged file, an
        unknown column, an arm absent from the column (one arm only), missing arms, an outcome
        that is missing or not a number (or not 0/1 for a binary outcome), no feature left, a text
        feature with more than :data:`MAX_CATEGORIES` values, a date feature, or fewer than
        :data:`MIN_ROWS_PER_ARM` rows in an arm.
    WorkbenchError
        When ``treatment`` and ``control`` are the same arm, a column is given two roles, or
        ``outcome_kind`` is unknown.
    """
    from workbench._read import read_any

    _check_kind(outcome_kind)
    p = Path(path)
    source = str(p)
    if str(treatment).strip() == str(control).strip():
        raise WorkbenchError(f"treatment and control are the same arm '{treatment}'")
    if treatment_col == outcome:
        raise WorkbenchError(f"'{outcome}' cannot be both the arm column and the outcome")
    if not p.exists():
        raise DataError(source, None, "no such file")
    frame = read_any(p, source)
    names = [str(c) for c in frame.columns]
    wanted = list(dict.fromkeys(features)) if features is not None else None
    for role, col in (
        ("arm", treatment_col),
        ("outcome", outcome),
        *(("feature", f) for f in (wanted or [])),
    ):
        if col not in names:
            raise DataError(source, col, f"no such {role} column (the file has: {_shown(names)})")
    if wanted is not None:
        for f in wanted:
            if f in (treatment_col, outcome):
                raise WorkbenchError(f"'{f}' is the arm or outcome column; it cannot be a feature")
    if frame.empty:
        raise DataError(source, None, "no rows (the file has a header line only)")
    arm = frame[treatment_col]
    missing = arm.isna().to_numpy()
    if not pd.api.types.is_numeric_dtype(arm.dtype):
        missing = missing | (arm.astype(object).map(lambda v: str(v).strip()) == "").to_numpy()
    if missing.any():
        n, first = _labels(frame, missing)
        raise DataError(source, treatment_col, "missing arm", n, first)
    is_t, is_c = _arm_mask(arm, str(treatment)), _arm_mask(arm, str(control))
    for mask, role, name in ((is_t, "treatment", treatment), (is_c, "control", control)):
        if not mask.any():
            arms = sorted({_arm_text(v) for v in arm.dropna().unique()})
            raise DataError(
                source,
                treatment_col,
                f"no {role} arm '{name}' (the column has {_shown(arms, 8)}): one arm only, "
                "nothing to compare",
            )
    t = np.where(is_t, 1, np.where(is_c, 0, -1)).astype(np.int8)
    y, kind = _outcome(frame, outcome, source, t >= 0, outcome_kind)
    _check_size(t, (str(treatment), str(control)), source, treatment_col)
    chosen = wanted is not None
    if wanted is None:
        wanted = [c for c in names if c not in (treatment_col, outcome)]
    X = _features_frame(frame, wanted, source).reset_index(drop=True)
    unbalanced = imbalanced(X, t)
    dropped: tuple[str, ...] = ()
    if unbalanced and not chosen:  # measured after the email, most likely: left out
        dropped = tuple(unbalanced)
        X = X.drop(columns=list(dropped))
        if X.shape[1] == 0:
            raise DataError(
                source, None, f"no feature left once {', '.join(dropped)} are left out (they "
                "differ between the arms far beyond chance); name the features with --features"
            )  # fmt: skip
    return UpliftData(
        X=X,
        y=y,
        treatment=t,
        rows=np.arange(len(frame), dtype=np.int64),
        feature_names=tuple(X.columns),
        source=source,
        outcome_kind=kind,
        treatment_name=str(treatment),
        control_name=str(control),
        dropped=dropped,
        imbalanced=tuple(c for c in unbalanced if c not in dropped),
    )


#: Significance below which a feature's difference between the arms is taken as a sign that it
#: was measured after the treatment (|z| above about 4.9): a randomised test balances every
#: feature measured before it, so among a few dozen such features a false alarm is one in
#: tens of thousands of tests.
IMBALANCE_P = 1e-6


def imbalanced(X: pd.DataFrame, treatment: np.ndarray, alpha: float = IMBALANCE_P) -> list[str]:
    """Features whose distribution differs between the two arms far beyond chance.

    Randomisation balances every feature measured before the treatment; a column that differs
    between the arms with a p-value below ``alpha`` was most likely measured after it (another
    outcome, such as visits or spend beside conversions) and would leak the answer into the
    model. Numbers: Welch's z of the difference of means; categories: the chi-square test of the
    arm-by-category table. Missing values are left out of both.

    Parameters
    ----------
    X : DataFrame
        Features (numbers and categories).
    treatment : ndarray
        1 treatment, 0 control, -1 other arms (ignored).
    alpha : float
        Significance below which a feature is reported.

    Returns
    -------
    list of str
        The imbalanced features, in column order.
    """
    from scipy import stats

    t = np.asarray(treatment)
    out = []
    for c in X.columns:
        col = X[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            keep = (t >= 0) & col.notna().to_numpy()
            table = pd.crosstab(col[keep].astype(str), t[keep])
            if table.shape[0] < 2 or table.shape[1] < 2:
                continue
            p = stats.chi2_contingency(table.to_numpy())[1]
        else:
            x = col.to_numpy(dtype=float)
            a, b = x[(t == 1) & ~np.isnan(x)], x[(t == 0) & ~np.isnan(x)]
            if a.size < 2 or b.size < 2:
                continue
            se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
            if not se > 0:
                continue
            p = 2 * stats.norm.sf(abs(a.mean() - b.mean()) / se)
        if p < alpha:
            out.append(str(c))
    return out


# ------------------------------------------------------------------------------------ worlds


def find_experiment(
    experiments: pd.DataFrame,
    experiment: str | int | None,
    treatment: str,
    control: str,
    source: str,
) -> pd.Series:
    """The row of ``experiments`` named by id or name, or the first holding both arms.

    Parameters
    ----------
    experiments : DataFrame
        A world's ``experiments`` table.
    experiment : str or int, optional
        Its id (an integer, or text of one) or its exact name. Default: the first experiment
        (by id) whose arms include ``treatment`` and ``control``.
    treatment, control : str
        The arms compared.
    source : str
        The world, for messages.

    Returns
    -------
    Series
        The experiment's row.

    Raises
    ------
    WorkbenchError
        When no experiment matches, or the chosen one lacks an arm.
    """
    exps = experiments.sort_values("experiment_id")
    arms = exps["arms"].astype(str).str.split("|")
    listing = "; ".join(
        f"{int(i)} '{n}' ({_shown(str(a).split('|'), 3)})"
        for i, n, a in zip(exps["experiment_id"], exps["name"], exps["arms"], strict=True)
    )
    if experiment is None:
        has = arms.map(lambda a: treatment in a and control in a).to_numpy(bool)
        if not has.any():
            raise WorkbenchError(
                f"{source}: no experiment has both arms '{treatment}' and '{control}' "
                f"(experiments: {listing})"
            )
        return exps.loc[has].iloc[0]
    text = str(experiment).strip()
    pick = exps["name"].astype(str) == text
    if text.lstrip("-").isdigit():
        pick = pick | (exps["experiment_id"] == int(text))
    if not pick.any():
        raise WorkbenchError(f"{source}: no experiment '{text}' (experiments: {listing})")
    row = exps.loc[pick.to_numpy(bool)].iloc[0]
    have = str(row["arms"]).split("|")
    for role, name in (("treatment", treatment), ("control", control)):
        if name not in have:
            raise WorkbenchError(
                f"{source}: experiment {int(row['experiment_id'])} '{row['name']}' has no "
                f"{role} arm '{name}' (its arms: {', '.join(have)})"
            )
    return row


def _window_end(world: Any, start: pd.Timestamp, days: int) -> pd.Timestamp:
    """End of an experiment's window (excluded): ``days`` after ``start``, or the world's end."""
    if days > 0:
        return start + pd.Timedelta(days=days)
    meta = world.meta
    if meta.get("start") and meta.get("days"):
        from workbench.db import utc_timestamp

        return utc_timestamp(meta["start"]) + pd.Timedelta(days=int(meta["days"]))
    orders = world["orders"]
    last = pd.to_datetime(orders["ts"], utc=True).max() if len(orders) else start
    return last + pd.Timedelta(microseconds=1)


def world_uplift_table(
    world: str | Path,
    *,
    experiment: str | int | None = None,
    treatment: str = "mass",
    control: str = "holdout",
    outcome: str = "conversion",
) -> UpliftData:
    """The uplift table of a world's experiment: assignments, pre-treatment features, outcomes.

    Parameters
    ----------
    world : path
        A world folder (read through :func:`workbench.schema.load_world` and
        :func:`workbench.features.compute_features`; never its truth).
    experiment : str or int, optional
        The experiment's id or name (default: the first experiment, by id, whose arms include
        both ``treatment`` and ``control``; on the default scenarios the "segmented vs mass send"
        test).
    treatment, control : str, default "mass", "holdout"
        The arms compared; subscribers of the experiment's other arms are kept with
        ``treatment == -1``.
    outcome : {"conversion", "revenue"}
        ``"conversion"``: 1 when the subscriber ordered in the experiment's window (binary);
        ``"revenue"``: the revenue of those orders (continuous).

    Returns
    -------
    UpliftData
        One row per assigned subscriber, sorted by ``subscriber_id`` (``X`` is indexed by it;
        ``rows`` count from 0 in that order). The window runs from the subscriber's
        ``assigned_ts`` (included) for ``conversion_window_days`` (excluded) -- the whole
        length of a holdout programme, the days after the send of an A/B test -- or, when that
        is 0, to the end of the world. Features are :func:`workbench.features.compute_features`
        as of the experiment's ``start_ts`` (its first assignment), so nothing from the
        treatment leaks into them; subscribers who signed up later have missing features.
        Constant features are dropped; text features are categories.

    Raises
    ------
    WorkbenchError
        When ``outcome`` is unknown, treatment equals control, or no experiment matches.
    DataError
        When a table breaks the contract, or an arm has fewer than :data:`MIN_ROWS_PER_ARM`
        subscribers.
    """
    from workbench.features import compute_features
    from workbench.schema import load_world

    if outcome not in WORLD_OUTCOMES:
        raise WorkbenchError(f"outcome must be one of {', '.join(WORLD_OUTCOMES)}, got {outcome!r}")
    if treatment == control:
        raise WorkbenchError(f"treatment and control are the same arm '{treatment}'")
    w = load_world(world, tables=["experiments", "assignments", "orders"])
    source = str(w.path)
    row = find_experiment(w["experiments"], experiment, treatment, control, source)
    exp_id = int(row["experiment_id"])
    where = f"{source} experiment {exp_id}"
    asg = w["assignments"]
    asg = asg.loc[asg["experiment_id"] == exp_id].sort_values("subscriber_id")
    asg = asg.reset_index(drop=True)
    arm = asg["arm"].astype(str).to_numpy()
    t = np.where(arm == treatment, 1, np.where(arm == control, 0, -1)).astype(np.int8)
    _check_size(t, (treatment, control), where, "arm")

    start = pd.Timestamp(row["start_ts"])
    starts = pd.to_datetime(asg["assigned_ts"], utc=True)
    window = _window_end(w, start, int(row["conversion_window_days"])) - start
    ends = starts + window
    orders = w["orders"][["subscriber_id", "ts", "revenue"]]
    joined = orders.merge(
        pd.DataFrame({"subscriber_id": asg["subscriber_id"], "lo": starts, "hi": ends}),
        on="subscriber_id",
    )
    ts = pd.to_datetime(joined["ts"], utc=True)
    inside = joined.loc[((ts >= joined["lo"]) & (ts < joined["hi"])).to_numpy(bool)]
    by = inside.groupby("subscriber_id")["revenue"]
    ids = asg["subscriber_id"]
    if outcome == "conversion":
        y = by.size().reindex(ids, fill_value=0).to_numpy(float).clip(max=1.0)
        kind = "binary"
    else:
        y = by.sum().reindex(ids, fill_value=0.0).to_numpy(float)
        kind = "continuous"

    feats = compute_features(w.path, as_of=start)
    feats = feats.reindex(pd.Index(ids.to_numpy(), name="subscriber_id"))
    keep = [c for c in feats.columns if feats[c].nunique(dropna=False) > 1]
    X = _features_frame(feats, keep, where)
    X.index.name = "subscriber_id"
    return UpliftData(
        X=X,
        y=y,
        treatment=t,
        rows=np.arange(len(asg), dtype=np.int64),
        feature_names=tuple(X.columns),
        source=f"{where} '{row['name']}'",
        outcome_kind=kind,
        treatment_name=treatment,
        control_name=control,
        experiment_id=exp_id,
        window_days=window / pd.Timedelta(days=1),
    )


# ------------------------------------------------------------------------------------ splits


def split_test(
    data: UpliftData, test_size: float = 0.5, seed: int = 0, min_rows: int = 10
) -> np.ndarray:
    """Held-out rows of a stratified random split of the two compared arms.

    The strata are arm x outcome: for a binary outcome 0 and 1, for a continuous one whether
    it is above 0. In each stratum ``round(test_size * n)`` rows, drawn at random, are held
    out; rows of other arms are in neither split.

    Parameters
    ----------
    data : UpliftData
        The table.
    test_size : float, default 0.5
        Share held out, strictly between 0 and 1.
    seed : int, default 0
        Seed of the draw.
    min_rows : int, default 10
        Fewest rows of each arm in each split.

    Returns
    -------
    ndarray of bool
        True for the held-out rows.

    Raises
    ------
    WorkbenchError
        When ``test_size`` is not strictly between 0 and 1.
    DataError
        When a split would hold fewer than ``min_rows`` rows of an arm.
    """
    if not 0.0 < float(test_size) < 1.0:
        raise WorkbenchError(f"test size must be strictly between 0 and 1, got {test_size!r}")
    rng = np.random.default_rng(seed)
    t, y = data.treatment, data.y
    positive = np.nan_to_num(y) > (0.5 if data.outcome_kind == "binary" else 0.0)
    test = np.zeros(len(t), bool)
    for arm in (0, 1):
        for pos in (False, True):
            idx = np.flatnonzero((t == arm) & (positive == pos))
            k = int(round(test_size * len(idx)))
            test[rng.permutation(idx)[:k]] = True
    for arm, name in ((1, data.treatment_name), (0, data.control_name)):
        n_test = int((test & (t == arm)).sum())
        n_train = int((~test & (t == arm)).sum())
        if min(n_test, n_train) < min_rows:
            raise DataError(
                data.source,
                None,
                f"arm '{name}' would have {n_train} training and {n_test} held-out rows "
                f"(at least {min_rows} each): the test is too small for this test size",
            )
    return test
