"""Customer value: buy-till-you-die models, spend, CLV, repeat purchase and cross-sell.

Transaction logs (a file, or a world's orders) become customer summaries (:mod:`~.data`); the
purchase models BG/NBD, Pareto/NBD and MBG/NBD and the Gamma–Gamma spend model are written from
the papers (:mod:`~.formulas`), fitted by maximum likelihood (:mod:`~.mle`) or in PyMC
(:mod:`~.bayes`), and turned into P(alive), expected purchases and CLV per customer
(:class:`CustomerValue`). :mod:`~.diagnostics` holds the papers' checks on a holdout period,
:mod:`~.repeat` the time to first order, repeat purchase and next-category affinity,
:mod:`~.segments` the features and the value playbook, :mod:`~.scorecard` the scoring against a
synthetic world's truth (evaluation only).
"""

from workbench.clv.data import read_transactions, summarise, transactions_from_orders
from workbench.clv.diagnostics import (
    conditional_expectations,
    frequency_histogram,
    holdout_scores,
    tracking,
)
from workbench.clv.segments import (
    add_value_features,
    value_features,
    value_playbook,
    world_value,
)
from workbench.clv.value import CustomerValue

__all__ = [
    "CustomerValue",
    "add_value_features",
    "conditional_expectations",
    "frequency_histogram",
    "holdout_scores",
    "read_transactions",
    "summarise",
    "tracking",
    "transactions_from_orders",
    "value_features",
    "value_playbook",
    "world_value",
]
