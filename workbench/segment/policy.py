"""The clustering policy: which feature columns segmentation clusters on, and how it sees them.

:mod:`workbench.features` defines what each feature *is*; this module holds the segmentation
choices made about them: the columns kept out of clustering (state, bookkeeping, channel
reachability), the heavy-tailed ones log-transformed, and the hours mapped onto the circle.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "HOUR_FEATURES",
    "LOG_FEATURES",
    "NOT_CLUSTERED",
    "N_STATES",
    "STATE_FEATURES",
    "attribute_columns",
    "cluster_columns",
]

#: Heavy-tailed counts and amounts: log1p-transformed before clustering.
LOG_FEATURES: frozenset[str] = frozenset(
    {
        "tenure_days",
        "days_since_last_open",
        "days_since_last_order",
        "n_orders",
        "revenue",
        "avg_order_value",
        "orders_per_30d",
        "emails_delivered",
        "n_opens",
        "n_weekday_opens",
        "n_weekend_opens",
        "n_clicks",
        "complaints",
        "emails_per_week",
        "opens_per_week",
        "cart_abandonment_emails",
        "n_categories",
    }  # fmt: skip
)
#: Hours of the day: mapped onto the circle (sin, cos) before clustering, missing -> centre.
HOUR_FEATURES: tuple[str, ...] = ("weekday_open_hour", "weekend_open_hour")
#: Columns kept out of clustering: state rather than behaviour, redundant, or channel reachability.
NOT_CLUSTERED: frozenset[str] = frozenset(
    {
        "is_unsubscribed",
        "email_consent",
        "is_bounced",
        "email_reachable",
        "preferred_local_hour",
        "complaints",
        "emails_delivered",
        "n_opens",
        "n_weekday_opens",
        "n_weekend_opens",
        "n_clicks",
        "revenue",
        "open_trend",
        "machine_open_share",
        # purchase counts that repeat the purchase rate: n_orders is orders_per_30d times the
        # tenure, and n_categories and days_since_last_order follow from how many orders there
        # were. Clustered beside the rate, they count it three more times and split every
        # segment into buyers and not-yet-buyers (the RFM grid and the profiles still use them)
        "n_orders",
        "n_categories",
        "days_since_last_order",
        # recency of opens is lifecycle state, not habit: it changes week by week, within a
        # segment it spreads from "read yesterday" to "went quiet months ago", and the open rate
        # and trend already carry the engagement. The lifecycle stages use it
        "days_since_last_open",
        # channel reachability feeds the playbook's channel mix, not the behavioural clusters
        "sms_consent",
        "push_consent",
        "sms_response_rate",
        "push_response_rate",
    }  # fmt: skip
)

#: Clustered features that measure *how much* a subscriber does, which moves with where they are
#: in their lifecycle (new, active, lapsing, lapsed) and with when they joined, rather than what
#: they do, when and how: within one habit these spread from "reads everything" to "went quiet in
#: week 3". The deconvolving mixture gives each segment :data:`N_STATES` sub-components that
#: differ only in these features, so that a stage of decline or a signup cohort is a state inside
#: a segment, not a segment of its own; everything else (hours, content and category shares,
#: order value, click-to-open, region, source) is shared by a segment's states.
STATE_FEATURES: frozenset[str] = frozenset(
    {
        "tenure_days",
        "open_rate",
        "click_rate",
        "opens_per_week",
        "orders_per_30d",
        "emails_per_week",
    }
)
#: Sub-components (lifecycle states) per segment of the deconvolving mixture.
N_STATES = 2


def cluster_columns(features: pd.DataFrame) -> list[str]:
    """The numeric feature columns used for clustering by default (behaviour, not bookkeeping)."""
    return [
        c
        for c in features.columns
        if c not in NOT_CLUSTERED and pd.api.types.is_numeric_dtype(features[c])
    ]


def attribute_columns(features: pd.DataFrame) -> list[str]:
    """The text columns of a feature table (:data:`~workbench.features.ATTRIBUTES` included).

    The deconvolving mixture models them beside the numeric clustering columns, as one
    categorical distribution per segment (:class:`workbench.segment.DeconvolvedMixture`).
    """
    return [
        c
        for c in features.columns
        if c not in NOT_CLUSTERED and not pd.api.types.is_numeric_dtype(features[c])
    ]
