"""Presets: the exports analysts have, read without writing a mapping.

Each preset recognises its vendor's files (by file name and header, wherever they sit under the
folders given) and maps them onto the contract; what the export cannot tell is documented here,
in ``workbench import --help`` and in ``datasets/examples/esp/LAYOUTS.md`` (the layouts and where
they were found). Addresses are ids only: every preset keys subscribers by address, which the
import replaces by a salted hash.

``mailchimp``
    The audience export (``subscribed_members_export_*.csv``, ``unsubscribed_...``,
    ``cleaned_...``) gives ``subscribers``: signup = ``OPTIN_TIME`` (else ``CONFIRM_TIME``), time
    zone = ``GMTOFF``, region = ``CC``; an unsubscribed member leaves at ``UNSUB_TIME``, a cleaned
    (hard-bounced) one at ``CLEAN_TIME`` (the contract has no separate "cleaned" status). Their
    campaign columns give ``unsubscribed`` events (``complained`` when the reason says spam) and
    ``bounced`` events. The account export's ``granular_activity/opens|clicks/<id>_<title>.csv``
    (or the API's email activity flattened to CSV: ``campaign_id, email_address, action,
    timestamp``) give opens, clicks and bounces. Mailchimp exports no deliveries: they are
    inferred (every member on the list at a campaign's first open or click received it, bounces
    excepted), which over-counts a campaign sent to part of the list. Times without an offset
    are read as UTC. Not available: acquisition source, consent to SMS or push, machine opens.
``klaviyo``
    The profiles export gives ``subscribers`` (signup = ``Date Added``, else ``Profile Created
    On``; ``Country``, ``Source``; ``Email Marketing Consent`` NEVER_SUBSCRIBED = no consent).
    The metric events (``metric_name``, ``profile_email``, ``datetime``, ``Campaign Name``,
    ``$flow``, ``Subject``...) give ``email_events`` (Received Email = delivered, Opened, Clicked,
    Unsubscribed, Bounced Email, Marked Email as Spam = complained; other metrics are left out and
    counted) and ``orders`` (Placed Order: ``OrderId``, ``$value``, items from ``Items``). A flow
    message is a campaign named after its flow and subject. Not available: product category,
    machine opens (unless the export has them), unsubscribe time other than from the events.
``shopify``
    The orders export (``orders_export_*.csv``, one row per line item) gives ``orders``: one per
    ``Name``, at ``Created at`` (with the shop's offset), revenue = ``Total`` less ``Refunded
    Amount``, items = the sum of ``Lineitem quantity``; voided orders are left out, orders
    without an email (point of sale) are left out and counted. Without a list export the buyers
    are the subscribers (signup = first order). Not available: product category (``unknown``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.importers.mapping import ImportMap, Part, TableMap, load_mapping

__all__ = ["PRESETS", "preset_map", "preset_table"]

_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz")


def _n(col: str) -> str:
    """SQL: a source column, NULL when blank."""
    return f"nullif(trim(\"{col}\"), '')"


def _files(inputs: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in inputs:
        if p.is_dir():
            out += sorted(
                f for f in p.rglob("*") if f.is_file() and f.name.lower().endswith(_SUFFIXES)
            )
        elif p.is_file():
            out.append(p)
        else:
            raise WorkbenchError(f"{p}: no such file or folder (--input)")
    return out


def _header(path: Path) -> list[str]:
    from workbench._read import _open_text

    try:
        with _open_text(path) as f:
            return next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


# ------------------------------------------------------------------------------------ mailchimp

_MC_AUDIENCE = re.compile(r"^(subscribed|unsubscribed|cleaned)_(members_)?export", re.I)
_MC_COMMON = {
    "signup_ts": f"coalesce({_n('OPTIN_TIME')}, {_n('CONFIRM_TIME')})",
    "tz_offset_h": f"coalesce({_n('GMTOFF')}, '0')",
    "region": f"coalesce({_n('CC')}, 'unknown')",
}
_MC_READS = ("OPTIN_TIME", "CONFIRM_TIME", "GMTOFF", "CC")


def _mailchimp(files: list[Path]) -> ImportMap:
    audience: dict[str, list[Path]] = {"subscribed": [], "unsubscribed": [], "cleaned": []}
    opens, clicks, api = [], [], []
    for f in files:
        m = _MC_AUDIENCE.match(f.name)
        if m:
            audience[m.group(1).lower()].append(f)
        elif f.parent.name == "opens" and {"Timestamp", "Email"} <= set(_header(f)):
            opens.append(f)
        elif f.parent.name == "clicks" and {"Timestamp", "Email"} <= set(_header(f)):
            clicks.append(f)
        elif {"campaign_id", "email_address", "action", "timestamp"} <= set(_header(f)):
            api.append(f)
    if not any(audience.values()):
        raise WorkbenchError(
            "mailchimp: no audience export found (subscribed_members_export_*.csv, "
            "unsubscribed_..., cleaned_...) under --input"
        )
    if not (opens or clicks or api):
        raise WorkbenchError(
            "mailchimp: no email activity found under --input: the account export's "
            "granular_activity/opens|clicks/*.csv, or the API's email activity as CSV"
        )
    label = "mailchimp"
    by_title = bool(opens or clicks)  # the granular files name campaigns by title, the API by id
    key = "TITLE" if by_title else "ID"
    subs, events = [], []
    for status, paths in audience.items():
        if not paths:
            continue
        exprs = dict(_MC_COMMON)
        reads = list(_MC_READS)
        if status != "subscribed":
            t = "UNSUB" if status == "unsubscribed" else "CLEAN"
            exprs["unsubscribed_ts"] = f'"{t}_TIME"'
            reads.append(f"{t}_TIME")
            kind = (
                "CASE WHEN \"UNSUB_REASON\" ILIKE '%spam%' THEN 'complained'"
                " ELSE 'unsubscribed' END"
                if t == "UNSUB"
                else "'bounced'"
            )
            ev_reads = [f"{t}_TIME", f"{t}_CAMPAIGN_{key}"] + (
                ["UNSUB_REASON"] if t == "UNSUB" else []
            )
            events.append(
                Part(
                    tuple(paths),
                    f"{label} [{status} members]",
                    columns={
                        "subscriber_id": "Email Address",
                        "campaign_id": f"{t}_CAMPAIGN_{key}",
                        "ts": f"{t}_TIME",
                    },
                    exprs={"event_type": kind},
                    reads=tuple(ev_reads),
                    drop_missing=("campaign_id",),
                )
            )
        subs.append(
            Part(
                tuple(paths),
                f"{label} [{status} members]",
                columns={"subscriber_id": "Email Address"},
                exprs=exprs,
                reads=tuple(reads),
            )
        )
    for kind, paths in (("opened", opens), ("clicked", clicks)):
        for f in paths:
            title = re.sub(r"^\d+_", "", f.stem).replace("_", " ")
            events.append(
                Part(
                    (f,),
                    f"{label} [{kind}: {f.name}]",
                    columns={"subscriber_id": "Email", "ts": "Timestamp"},
                    constants={"campaign_id": title, "event_type": kind},
                )
            )
    if api and not by_title:
        events.append(
            Part(
                tuple(api),
                f"{label} [email activity]",
                columns={
                    "subscriber_id": "email_address",
                    "campaign_id": "campaign_id",
                    "event_type": "action",
                    "ts": "timestamp",
                },
                values={"event_type": {"open": "opened", "click": "clicked", "bounce": "bounced"}},
            )
        )
    tables = {
        "subscribers": TableMap("subscribers", tuple(subs)),
        "email_events": TableMap("email_events", tuple(events)),
    }
    return ImportMap(tables, "mailchimp", label, infer_deliveries=True)


# ------------------------------------------------------------------------------------- klaviyo

_KL_EVENTS = {
    "Received Email": "delivered",
    "Opened Email": "opened",
    "Clicked Email": "clicked",
    "Unsubscribed": "unsubscribed",
    "Unsubscribed from Email Marketing": "unsubscribed",
    "Bounced Email": "bounced",
    "Marked Email as Spam": "complained",
}


def _klaviyo(files: list[Path]) -> ImportMap:
    profiles, events = [], []
    for f in files:
        head = set(_header(f))
        if {"metric_name", "profile_email", "datetime"} <= head:
            events.append(f)
        elif "Email" in head and ("Klaviyo ID" in head or "Email Marketing Consent" in head):
            profiles.append(f)
    if not events:
        raise WorkbenchError(
            "klaviyo: no metric events found under --input (a CSV with metric_name, "
            "profile_email and datetime columns)"
        )
    label = "klaviyo"
    tables = {}
    if profiles:
        tables["subscribers"] = TableMap(
            "subscribers",
            (
                Part(
                    tuple(profiles),
                    f"{label} [profiles]",
                    columns={"subscriber_id": "Email"},
                    exprs={
                        "signup_ts": f"coalesce({_n('Date Added')}, {_n('Profile Created On')})",
                        "region": f"coalesce({_n('Country')}, 'unknown')",
                        "acquisition_source": f"coalesce({_n('Source')}, 'unknown')",
                        "email_consent": (
                            f"coalesce({_n('Email Marketing Consent')}, '') <> 'NEVER_SUBSCRIBED'"
                        ),
                    },
                    reads=(
                        "Date Added",
                        "Profile Created On",
                        "Country",
                        "Source",
                        "Email Marketing Consent",
                    ),
                ),
            ),
        )
    campaign = (
        f"coalesce({_n('Campaign Name')}, 'flow ' || {_n('$flow')} || ': '"
        f" || coalesce({_n('Subject')}, {_n('$message')}))"
    )
    tables["email_events"] = TableMap(
        "email_events",
        (
            Part(
                tuple(events),
                f"{label} [email events]",
                columns={
                    "subscriber_id": "profile_email",
                    "event_type": "metric_name",
                    "ts": "datetime",
                },
                exprs={"campaign_id": campaign},
                reads=("Campaign Name", "$flow", "Subject", "$message"),
                values={"event_type": _KL_EVENTS},
                drop_unmapped=("event_type",),
                where="\"metric_name\" <> 'Placed Order'",
            ),
        ),
    )
    items = "CAST(list_sum(CAST(json_extract(\"Items\", '$[*].Quantity') AS BIGINT[])) AS VARCHAR)"
    tables["orders"] = TableMap(
        "orders",
        (
            Part(
                tuple(events),
                f"{label} [Placed Order events]",
                columns={"subscriber_id": "profile_email", "ts": "datetime", "revenue": "$value"},
                exprs={
                    "order_id": f"coalesce({_n('OrderId')}, {_n('$event_id')}, {_n('id')})",
                    "n_items": f"coalesce(CASE WHEN json_valid(\"Items\") THEN {items} END, '1')",
                },
                reads=("OrderId", "$event_id", "id", "Items", "metric_name"),
                where="\"metric_name\" = 'Placed Order'",
            ),
        ),
    )
    return ImportMap(tables, "klaviyo", label)


# ------------------------------------------------------------------------------------- shopify


def _shopify_orders(paths: tuple[Path, ...], label: str) -> TableMap:
    revenue = (
        'greatest(try_cast("Total" AS DOUBLE)'
        f" - coalesce(try_cast({_n('Refunded Amount')} AS DOUBLE), 0), 0)"
    )
    part = Part(
        paths,
        label,
        columns={
            "order_id": "Name",
            "subscriber_id": "Email",
            "ts": "Created at",
            "n_items": "Lineitem quantity",
        },
        exprs={"revenue": f"CASE WHEN {_n('Total')} IS NOT NULL THEN {revenue} END"},
        reads=("Total", "Refunded Amount", "Financial Status"),
        where=(
            '"Name" NOT IN (SELECT "Name" FROM {src}'
            ' WHERE "Financial Status" = \'voided\' AND "Name" IS NOT NULL)'
        ),
    )
    return TableMap("orders", (part,), group_by="order_id", aggregate={"n_items": "sum"})


def _shopify(files: list[Path]) -> ImportMap:
    orders = [f for f in files if {"Name", "Created at", "Lineitem quantity"} <= set(_header(f))]
    if not orders:
        raise WorkbenchError(
            "shopify: no orders export found under --input (a CSV with Name, Created at and "
            "Lineitem quantity columns, as orders_export_1.csv)"
        )
    tables = {"orders": _shopify_orders(tuple(orders), "shopify [orders]")}
    return ImportMap(tables, "shopify", "shopify")


PRESETS: dict[str, Callable[[list[Path]], ImportMap]] = {
    "mailchimp": _mailchimp,
    "klaviyo": _klaviyo,
    "shopify": _shopify,
}


def preset_table(preset: str, table: str, files: tuple[Path, ...], where: str) -> TableMap:
    """One table of a generic mapping read by a preset (``[orders] preset = "shopify"``)."""
    if preset not in PRESETS:
        raise WorkbenchError(f"{where}: unknown preset '{preset}' (one of {', '.join(PRESETS)})")
    imap = PRESETS[preset](list(files))
    if table not in imap.tables:
        raise WorkbenchError(f"{where}: the {preset} preset gives no {table} table")
    return imap.tables[table]


def preset_map(name: str, inputs: list[Path], extra: str | Path | None = None) -> ImportMap:
    """The mapping of preset ``name`` over the files under ``inputs``.

    Parameters
    ----------
    name : {"mailchimp", "klaviyo", "shopify"}
    inputs : list of Path
        Files or folders holding the export (searched recursively).
    extra : path, optional
        A generic mapping whose tables are added (e.g. Shopify orders beside a Mailchimp
        audience); a table both give is an error.
    """
    if name not in PRESETS:
        raise WorkbenchError(f"unknown preset '{name}' (one of {', '.join(PRESETS)}, generic)")
    imap = PRESETS[name](_files(inputs))
    if extra is None:
        return imap
    more = load_mapping(extra)
    both = sorted(set(imap.tables) & set(more.tables))
    if both:
        raise WorkbenchError(f"{more.label}: [{both[0]}] is already given by the {name} preset")
    return ImportMap(
        {**imap.tables, **more.tables},
        name,
        f"{name} + {more.label}",
        imap.notes,
        imap.infer_deliveries,
    )
