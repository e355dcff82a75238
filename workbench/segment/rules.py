"""Rule-based segments: an RFM grid, lifecycle stages and user rules over feature columns.

User rules are readable boolean expressions such as ``"open_rate > 0.3 and n_orders == 0"``.
They are parsed with :mod:`ast` and evaluated over the feature columns by a small whitelist
interpreter (comparisons, ``and``/``or``/``not``, arithmetic, numbers and strings): no
``eval``, no attribute access, no calls. A bad expression raises a
:class:`~workbench.errors.WorkbenchError` naming the rule, the expression and what is wrong.
"""

from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Mapping

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError

# ------------------------------------------------------------------------------------- RFM grid

#: RFM cells, first match wins: (name, recency score range, frequency-monetary score range).
RFM_CELLS: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...] = (
    ("champions", (4, 5), (4, 5)),
    ("loyal", (3, 5), (3, 5)),
    ("new customers", (5, 5), (1, 1)),
    ("potential loyalists", (4, 5), (1, 3)),
    ("need attention", (3, 3), (2, 3)),
    ("about to sleep", (3, 3), (1, 2)),
    ("can't lose them", (1, 1), (4, 5)),
    ("at risk", (1, 2), (3, 5)),
    ("hibernating", (2, 2), (1, 2)),
    ("lost", (1, 1), (1, 2)),
)
NO_ORDERS = "prospects"


def _score(values: pd.Series, higher_is_better: bool = True) -> np.ndarray:
    """Quintile score 1-5 by rank (ties share the average rank)."""
    pct = values.rank(method="average", pct=True, ascending=higher_is_better).to_numpy()
    return np.clip(np.ceil(pct * 5), 1, 5).astype(np.int64)


def rfm_scores(features: pd.DataFrame) -> pd.DataFrame:
    """Recency, frequency and monetary quintile scores (1-5) of subscribers with orders.

    Returns
    -------
    DataFrame
        ``r, f, m, fm, rfm_segment`` indexed by ``subscriber_id``; subscribers without orders get
        scores 0 and the segment ``"prospects"``.
    """
    buyers = features["n_orders"] > 0
    b = features.loc[buyers]
    out = pd.DataFrame(0, index=features.index, columns=["r", "f", "m", "fm"], dtype=np.int64)
    if len(b):
        r = _score(b["days_since_last_order"], higher_is_better=False)
        f = _score(b["n_orders"])
        m = _score(b["revenue"])
        fm = np.rint((f + m) / 2 + 1e-9).astype(np.int64)
        out.loc[buyers, ["r", "f", "m", "fm"]] = np.column_stack([r, f, m, fm])
    conds = [(out["r"].between(*rr) & out["fm"].between(*ff)).to_numpy() for _, rr, ff in RFM_CELLS]
    names = [name for name, _, _ in RFM_CELLS]
    seg = np.select(conds, names, default="others")
    out["rfm_segment"] = np.where(buyers.to_numpy(), seg, NO_ORDERS)
    return out


# ------------------------------------------------------------------------------ lifecycle stages

LIFECYCLE_STAGES: tuple[str, ...] = (
    "unsubscribed",
    "new",
    "active buyer",
    "engaged",
    "lapsing",
    "dormant",
)


def lifecycle_stage(
    features: pd.DataFrame,
    new_days: float = 30,
    active_days: float = 90,
    engaged_days: float = 30,
    dormant_days: float = 90,
    alive_threshold: float = 0.5,
) -> pd.Series:
    """Lifecycle stage of each subscriber from the feature table (first matching rule wins).

    ``unsubscribed`` (left email) · ``new`` (tenure under ``new_days``) · ``active buyer``
    (ordered in the last ``active_days``) · ``engaged`` (opened in the last ``engaged_days``)
    · ``lapsing`` (opened in the last ``dormant_days``) · ``dormant`` (the rest).

    When the table holds the features of a fitted customer-value model (``p_alive`` and
    ``is_customer``, :func:`workbench.clv.segments.add_value_features`), an active buyer is a
    customer whose probability of still buying is at least ``alive_threshold``, instead of one
    who ordered in the last ``active_days``: a weekly buyer silent for 60 days has probably
    left, a yearly buyer silent for 120 days probably has not.
    """
    f = features
    if "p_alive" in f and "is_customer" in f:
        buyer = (f["is_customer"].to_numpy() == 1) & (f["p_alive"].to_numpy() >= alive_threshold)
    else:
        buyer = (f["n_orders"].to_numpy() > 0) & (
            f["days_since_last_order"].to_numpy() < active_days
        )
    conds = [
        f["is_unsubscribed"].to_numpy() == 1,
        f["tenure_days"].to_numpy() < new_days,
        buyer,
        (f["open_rate"].to_numpy() > 0) & (f["days_since_last_open"].to_numpy() < engaged_days),
        (f["open_rate"].to_numpy() > 0) & (f["days_since_last_open"].to_numpy() < dormant_days),
    ]
    stage = np.select(conds, list(LIFECYCLE_STAGES[:-1]), default=LIFECYCLE_STAGES[-1])
    return pd.Series(
        pd.Categorical(stage, categories=LIFECYCLE_STAGES), index=f.index, name="lifecycle_stage"
    )


# ----------------------------------------------------------------------------------- user rules

_CMP = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_BIN = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}


class _RuleError(Exception):
    pass


def _eval(node: ast.AST, frame: pd.DataFrame) -> object:
    if isinstance(node, ast.Expression):
        return _eval(node.body, frame)
    if isinstance(node, ast.BoolOp):
        vals = [np.asarray(_eval(v, frame), dtype=bool) for v in node.values]
        fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        out = vals[0]
        for v in vals[1:]:
            out = fn(out, v)
        return out
    if isinstance(node, ast.UnaryOp):
        val = _eval(node.operand, frame)
        if isinstance(node.op, ast.Not):
            return np.logical_not(np.asarray(val, dtype=bool))
        if isinstance(node.op, ast.USub):
            return -np.asarray(val)
        if isinstance(node.op, ast.UAdd):
            return val
    if isinstance(node, ast.Compare):
        left = _eval(node.left, frame)
        out = None
        for op, comp in zip(node.ops, node.comparators, strict=True):
            if type(op) not in _CMP:
                raise _RuleError(f"operator '{ast.unparse(op) or type(op).__name__}' not allowed")
            right = _eval(comp, frame)
            res = np.asarray(_CMP[type(op)](left, right), dtype=bool)
            out = res if out is None else out & res
            left = right
        return out
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        return _BIN[type(node.op)](
            np.asarray(_eval(node.left, frame)), np.asarray(_eval(node.right, frame))
        )
    if isinstance(node, ast.Name):
        if node.id in ("True", "False"):
            return node.id == "True"
        if node.id not in frame.columns:
            close = difflib.get_close_matches(node.id, [str(c) for c in frame.columns], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise _RuleError(f"unknown feature '{node.id}'{hint}")
        return frame[node.id].to_numpy()
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return node.value
    raise _RuleError(
        f"'{ast.unparse(node)}' is not allowed (use features, numbers, comparisons, "
        "and/or/not, + - * / %)"
    )


def evaluate_rule(expression: str, features: pd.DataFrame, name: str = "rule") -> pd.Series:
    """Evaluate one boolean rule over the feature columns.

    Parameters
    ----------
    expression : str
        E.g. ``"open_rate > 0.3 and (n_orders == 0 or days_since_last_order > 90)"``.
    features : DataFrame
        Feature table; rule names refer to its columns.
    name : str
        The rule's name, used in error messages.

    Returns
    -------
    Series of bool
        Indexed like ``features``.

    Raises
    ------
    WorkbenchError
        When the expression does not parse, uses something outside the whitelist, names an
        unknown feature, or does not give one true/false value per subscriber.
    """
    where = f"rule '{name}' ({expression!r})"
    if not isinstance(expression, str) or not expression.strip():
        raise WorkbenchError(f"{where}: empty expression")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise WorkbenchError(f"{where}: not a valid expression ({exc.msg})") from None
    try:
        with np.errstate(all="ignore"):
            out = _eval(tree, features)
    except _RuleError as exc:
        raise WorkbenchError(f"{where}: {exc}") from None
    except TypeError as exc:
        raise WorkbenchError(f"{where}: cannot compute ({exc})") from None
    arr = np.asarray(out)
    if arr.shape != (len(features),) or arr.dtype != bool:
        raise WorkbenchError(f"{where}: must give true/false per subscriber (use a comparison)")
    return pd.Series(arr, index=features.index, name=name)


def rule_segments(
    features: pd.DataFrame, rules: Mapping[str, str], default: str = "other"
) -> pd.Series:
    """Segment subscribers by ordered named rules: the first rule that holds names the segment.

    Parameters
    ----------
    features : DataFrame
        Feature table.
    rules : mapping of str to str
        Segment name -> boolean expression (see :func:`evaluate_rule`), in priority order.
    default : str
        Segment of subscribers no rule matches.

    Returns
    -------
    Series of str
        Indexed like ``features``.
    """
    names = list(rules)
    conds = [evaluate_rule(expr, features, name).to_numpy() for name, expr in rules.items()]
    seg = np.select(conds, names, default=default) if conds else np.full(len(features), default)
    return pd.Series(seg, index=features.index, name="rule_segment")
