#!/usr/bin/env python3
"""Regenerate the synthetic ESP export fixtures in this folder.

    /usr/bin/python3 datasets/examples/esp/make_fixtures.py

Standard library only, fixed seed, no clock reads: running it twice gives byte-identical
files. Layouts (file names, header names and order, date formats, quoting) follow
LAYOUTS.md in this folder, which also says where each layout comes from and which parts
are NOT confirmed by vendor documentation.

One synthetic "truth" drives all three vendors: 50 people (test01 .. test50, on the
reserved example.com / example.org / example.net domains), four campaigns between
2026-01-13 and 2026-03-17, their opens / clicks / bounces / unsubscribes / one spam
complaint, and ~30 Shopify orders (1-3 line items, one refunded, one voided, two buyers
not on the list, one POS order without an email). Mailchimp, Klaviyo and Shopify files
are renderings of that same truth, so addresses, campaign titles and times agree.
All names are "TestNN Person", all phones are 555-01xx, all IPs are RFC 5737
documentation addresses.
"""
from __future__ import annotations

import hashlib
import json
import random
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEED = 20260301
OUT = Path(__file__).resolve().parent
UTC = timezone.utc

rng = random.Random(SEED)


# ----------------------------------------------------------------------------- helpers
def r_hex(n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def r_alnum(n: int) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789") for _ in range(n))


def r_ulid(t: datetime) -> str:
    """ULID-shaped id (Klaviyo profile / campaign ids look like this): 10 time chars + 16 random."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    ms = int(t.timestamp() * 1000)
    time_part = ""
    for _ in range(10):
        time_part = alphabet[ms % 32] + time_part
        ms //= 32
    return time_part + "".join(rng.choice(alphabet) for _ in range(16))


def doc_ip() -> str:
    """An address from the RFC 5737 documentation ranges."""
    return rng.choice(["192.0.2.", "198.51.100.", "203.0.113."]) + str(rng.randint(1, 254))


def utc(y, mo, d, h=0, mi=0, s=0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


# America/New_York for the Shopify store: EST (-05:00) until 2026-03-08 07:00 UTC, then EDT.
DST_START_2026 = utc(2026, 3, 8, 7)


def store_local(t: datetime) -> datetime:
    off = timedelta(hours=-4) if t >= DST_START_2026 else timedelta(hours=-5)
    return t.astimezone(timezone(off))


def fmt_mc(t: datetime | None) -> str:  # Mailchimp: "2026-01-13 15:42:10" (UTC, no offset)
    return "" if t is None else t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_iso(t: datetime) -> str:  # Mailchimp / Klaviyo API: "2026-01-13T15:42:10+00:00"
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def fmt_shopify(t: datetime | None) -> str:  # "2026-01-05 10:15:00 -0500" (store time zone)
    return "" if t is None else store_local(t).strftime("%Y-%m-%d %H:%M:%S %z")


def money(x: float) -> str:
    return f"{x:.2f}"


def write_csv(path: Path, header: list[str], rows: list[list[str]], quote) -> None:
    """Write with an explicit per-cell quoting rule; quote(col_index, value, is_header) -> bool."""

    def cell(i: int, v: str, is_header: bool) -> str:
        v = "" if v is None else str(v)
        if quote(i, v, is_header) or any(c in v for c in ',"\n\r'):
            return '"' + v.replace('"', '""') + '"'
        return v

    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(cell(i, h, True) for i, h in enumerate(header))]
    for row in rows:
        assert len(row) == len(header), (path.name, len(row), len(header))
        lines.append(",".join(cell(i, v, False) for i, v in enumerate(row)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def mailchimp_quote(i, v, is_header) -> bool:
    # Public Mailchimp export samples quote headers and values that contain a space
    # ("Email Address", "2013-06-25 17:38:27", "hadi partovi test") and leave the rest bare.
    return " " in v


def minimal_quote(i, v, is_header) -> bool:
    return False


# ----------------------------------------------------------------------------- the truth
DOMAINS = ["example.com", "example.org", "example.net"]
PLACES = [  # city, region code, region name, zip, country code, country, lat, lon, tz, gmtoff, dstoff
    ("New York", "NY", "New York", "10001", "US", "United States", 40.7506, -73.9972, "America/New_York", -5, -4),
    ("Boston", "MA", "Massachusetts", "02134", "US", "United States", 42.3554, -71.1321, "America/New_York", -5, -4),
    ("Chicago", "IL", "Illinois", "60601", "US", "United States", 41.8858, -87.6181, "America/Chicago", -6, -5),
    ("Denver", "CO", "Colorado", "80202", "US", "United States", 39.7530, -104.9990, "America/Denver", -7, -6),
    ("Seattle", "WA", "Washington", "98101", "US", "United States", 47.6114, -122.3305, "America/Los_Angeles", -8, -7),
    ("Austin", "TX", "Texas", "78701", "US", "United States", 30.2711, -97.7437, "America/Chicago", -6, -5),
    ("Toronto", "ON", "Ontario", "M5V 2T6", "CA", "Canada", 43.6426, -79.3871, "America/Toronto", -5, -4),
    ("London", "ENG", "England", "EC1A 1BB", "GB", "United Kingdom", 51.5200, -0.0977, "Europe/London", 0, 1),
]


@dataclass
class Person:
    idx: int
    email: str
    first: str
    last: str
    phone: str
    joined: datetime
    engagement: float
    place: tuple | None
    double_optin: bool
    tags: list[str]
    status: str = "subscribed"  # subscribed | unsubscribed | cleaned
    status_time: datetime | None = None
    status_campaign: "Campaign | None" = None
    unsub_reason: str = ""
    unsub_reason_other: str = ""
    spam_complaint: bool = False
    admin_unsub: bool = False
    soft_bounce_campaigns: list = field(default_factory=list)
    optin_ip: str = ""
    confirm_ip: str = ""
    leid: int = 0
    euid: str = ""
    klaviyo_id: str = ""
    klaviyo_source: str = ""


@dataclass
class Campaign:
    n: int
    title: str
    subject: str
    send: datetime
    mc_id: str
    mc_web_id: int
    kl_id: str
    links: list[str]
    code: str
    code_pct: float


CAMPAIGNS = []
_specs = [
    ("January Winter Sale", "Winter sale: 15% off warm layers", utc(2026, 1, 13, 15, 0), "WINTER15", 0.15,
     ["winter-sale", "beanies", "scarves"]),
    ("February Newsletter", "Trail notes for February", utc(2026, 2, 3, 15, 0), "", 0.0,
     ["journal/february", "socks"]),
    ("Spring Preview", "First look: spring shells", utc(2026, 2, 24, 15, 0), "SPRING10", 0.10,
     ["spring-preview", "jackets", "bottles"]),
    ("March Restock Alert", "Back in stock: the trail mug", utc(2026, 3, 17, 14, 0), "", 0.0,
     ["restock", "mugs"]),
]
for n, (title, subject, send, code, pct, paths) in enumerate(_specs, start=1):
    slug = title.lower().replace(" ", "_")
    links = [f"https://shop.example.com/collections/{p}?utm_source=email&utm_campaign={slug}" for p in paths]
    CAMPAIGNS.append(Campaign(n, title, subject, send, r_hex(10), rng.randint(1500000, 1999999),
                              r_ulid(send - timedelta(days=2)), links, code, pct))

LIST_ID = "a1b2c3d4e5"  # Mailchimp audience id used in the file names

PEOPLE: list[Person] = []
for i in range(1, 51):
    if i <= 32:  # on the list before the first send
        joined = utc(2026, 1, 5) + timedelta(minutes=rng.randint(0, 7 * 24 * 60 - 1))
    else:  # trickle in through the quarter
        joined = utc(2026, 1, 14) + timedelta(minutes=rng.randint(0, 66 * 24 * 60))
    place = rng.choice(PLACES) if rng.random() < 0.7 else None
    tags = sorted(rng.sample(["Customer", "VIP", "Newsletter", "Popup 10%"], k=rng.choice([0, 0, 1, 1, 2])))
    p = Person(
        idx=i,
        email=f"test{i:02d}.person@{DOMAINS[i % 3]}",
        first=f"Test{i:02d}",
        last="" if i in (17, 38) else "Person",
        phone=f"555-555-01{i:02d}" if rng.random() < 0.6 else "",
        joined=joined.replace(second=rng.randint(0, 59)),
        engagement=round(rng.betavariate(2, 2.5), 3),
        place=place,
        double_optin=rng.random() < 0.4,
        tags=tags,
    )
    p.optin_ip, p.confirm_ip = doc_ip(), doc_ip()
    p.leid = rng.randint(300000000, 399999999)
    p.euid = r_hex(10)
    p.klaviyo_id = r_ulid(p.joined)
    p.klaviyo_source = rng.choice(["API", "Manually Initiated", "Footer Signup Form", "Popup Form"])
    PEOPLE.append(p)

BY_IDX = {p.idx: p for p in PEOPLE}
C1, C2, C3, C4 = CAMPAIGNS

# Fates (scripted so every case is present).
UNSUBS = {  # idx: (campaign, reason, other)
    7: (C1, "I no longer want to receive these emails", ""),
    15: (C2, "Other (fill in reason below)", "Too many emails this month"),
    22: (C3, "I never signed up for this mailing list", ""),
}
SPAM = {9: C2}  # spam complaint on C2 -> unsubscribed in Mailchimp, "Marked Email as Spam" in Klaviyo
ADMIN_UNSUB = {30: utc(2026, 3, 2, 16, 20, 11)}
HARD_BOUNCES = {11: C1, 27: C3}
SOFT_BOUNCES = {5: [C2], 28: [C4]}
# One late joiner who hard-bounces on the first campaign they receive.
LATE_BOUNCER = min((p for p in PEOPLE if p.idx > 32 and p.joined < C4.send - timedelta(days=1)),
                   key=lambda p: p.joined).idx
HARD_BOUNCES[LATE_BOUNCER] = next(c for c in CAMPAIGNS if c.send > BY_IDX[LATE_BOUNCER].joined)


@dataclass
class Ev:  # one engagement event in the truth
    kind: str  # received | open | click | bounce | unsubscribe | spam
    person: Person
    campaign: Campaign | None
    t: datetime
    url: str = ""
    bounce_type: str = ""
    flow: "FlowMsg | None" = None


EVENTS: list[Ev] = []


def recipient(p: Person, c: Campaign) -> bool:
    if p.joined >= c.send - timedelta(hours=1):
        return False
    if p.status != "subscribed" and p.status_time is not None and p.status_time <= c.send:
        return False
    return True


def engage(p: Person, c: Campaign | None, sent: datetime, links: list[str], flow=None, boost=0.0) -> list[Ev]:
    """Opens and clicks of one delivered message."""
    out: list[Ev] = []
    if rng.random() < min(0.95, 0.15 + 0.7 * p.engagement + boost):
        first = sent + timedelta(minutes=int(rng.expovariate(1 / 300)) + 2, seconds=rng.randint(0, 59))
        opens = [first] + [first + timedelta(minutes=rng.randint(5, 3000)) for _ in range(rng.choice([0, 0, 1, 2]))]
        for t in sorted(opens):
            out.append(Ev("open", p, c, t, flow=flow))
        if rng.random() < 0.15 + 0.45 * p.engagement:
            for k in range(rng.choice([1, 1, 2])):
                out.append(Ev("click", p, c, first + timedelta(seconds=rng.randint(20, 900) * (k + 1)),
                              url=rng.choice(links), flow=flow))
    return out


for c in CAMPAIGNS:
    for p in PEOPLE:
        if not recipient(p, c):
            continue
        sent = c.send + timedelta(seconds=rng.randint(3, 900))
        if HARD_BOUNCES.get(p.idx) is c:
            t = sent + timedelta(seconds=rng.randint(5, 120))
            EVENTS.append(Ev("bounce", p, c, t, bounce_type="hard"))
            p.status, p.status_time, p.status_campaign = "cleaned", t, c
            continue
        if c in SOFT_BOUNCES.get(p.idx, []):
            EVENTS.append(Ev("bounce", p, c, sent + timedelta(seconds=rng.randint(5, 300)), bounce_type="soft"))
            continue
        EVENTS.append(Ev("received", p, c, sent))
        evs = engage(p, c, sent, c.links, boost=0.5 if (p.idx in UNSUBS or p.idx in SPAM) else 0.0)
        EVENTS.extend(evs)
        last = max([e.t for e in evs], default=sent + timedelta(hours=3))
        if p.idx in UNSUBS and UNSUBS[p.idx][0] is c:
            t = last + timedelta(seconds=rng.randint(10, 120))
            EVENTS.append(Ev("unsubscribe", p, c, t))
            p.status, p.status_time, p.status_campaign = "unsubscribed", t, c
            p.unsub_reason, p.unsub_reason_other = UNSUBS[p.idx][1], UNSUBS[p.idx][2]
        if SPAM.get(p.idx) is c:
            t = last + timedelta(seconds=rng.randint(10, 120))
            EVENTS.append(Ev("spam", p, c, t))
            p.status, p.status_time, p.status_campaign = "unsubscribed", t, c
            p.unsub_reason, p.spam_complaint = "The emails are spam and should be reported", True
    for idx, t in ADMIN_UNSUB.items():  # admin unsubscribes land between campaigns
        p = BY_IDX[idx]
        if p.status == "subscribed" and c.send < t and (c.n == 4 or CAMPAIGNS[c.n].send > t):
            p.status, p.status_time, p.admin_unsub = "unsubscribed", t, True
            p.unsub_reason = "N/A (Unsubscribed by an admin)"
for idx, cs in SOFT_BOUNCES.items():
    BY_IDX[idx].soft_bounce_campaigns = cs


# Klaviyo-only: a two-message welcome flow for everyone who joins after the first send.
@dataclass
class FlowMsg:
    flow_id: str
    flow_name: str
    message_id: str
    subject: str
    delay: timedelta
    link: str


FLOW_ID = r_alnum(6)
FLOW = [
    FlowMsg(FLOW_ID, "Welcome Series", r_alnum(6), "Welcome to the trail club", timedelta(minutes=10),
            "https://shop.example.com/pages/welcome?utm_source=email&utm_campaign=welcome_1"),
    FlowMsg(FLOW_ID, "Welcome Series", r_alnum(6), "Our most-loved gear", timedelta(days=3),
            "https://shop.example.com/collections/bestsellers?utm_source=email&utm_campaign=welcome_2"),
]
FLOW_EVENTS: list[Ev] = []
for p in PEOPLE:
    if p.idx <= 32:
        continue
    for m in FLOW:
        sent = p.joined + m.delay + timedelta(seconds=rng.randint(1, 59))
        if p.status != "subscribed" and p.status_time and p.status_time <= sent:
            continue
        FLOW_EVENTS.append(Ev("received", p, None, sent, flow=m))
        FLOW_EVENTS.extend(engage(p, None, sent, [m.link], flow=m, boost=0.1))

# ----------------------------------------------------------------------------- Shopify orders
PRODUCTS = [  # title, variant, sku, price, compare-at
    ("Wool Beanie", "Charcoal", "WB-001-CH", 24.00, 30.00),
    ("Merino Scarf", "Forest", "MS-002-FO", 48.00, None),
    ("Trail Mug", "12 oz", "TM-003-12", 18.00, None),
    ("Canvas Tote", "Natural", "CT-004-NA", 32.00, None),
    ("Rain Shell Jacket", "M", "RS-005-M", 129.00, 149.00),
    ("Hiking Socks, 2-Pack", "L", "HS-006-L", 16.00, None),  # comma in the name: quoting check
    ("Water Bottle 750ml", "Slate", "WB-007-SL", 22.00, None),
    ("Headlamp", "Default Title", "HL-008", 39.00, None),
]
VENDOR = "Test Outfitters"
TAX_RATE = 0.07


@dataclass
class Order:
    t: datetime
    email: str
    person: Person | None
    bill_first: str
    bill_last: str
    items: list[tuple]
    code: str = ""
    code_pct: float = 0.0
    source: str = "web"
    attributed: Campaign | None = None
    financial: str = "paid"
    name: str = ""
    oid: int = 0
    place: tuple | None = None
    phone: str = ""


ORDERS: list[Order] = []


def pick_items() -> list[tuple]:
    k = rng.choice([1, 1, 1, 2, 2, 3])
    chosen = rng.sample(PRODUCTS, k)
    return [(pr, rng.choice([1, 1, 1, 2])) for pr in chosen]


# Campaign-driven orders: some clickers buy within two days, often with the campaign code.
clicks = [e for e in EVENTS if e.kind == "click"]
seen = set()
for e in clicks:
    key = (e.person.idx, e.campaign.n)
    if key in seen:
        continue
    seen.add(key)
    if rng.random() < 0.42:
        t = e.t + timedelta(minutes=rng.randint(3, 2 * 24 * 60))
        use_code = bool(e.campaign.code) and rng.random() < 0.8
        ORDERS.append(Order(t, e.person.email, e.person, e.person.first, e.person.last, pick_items(),
                            e.campaign.code if use_code else "", e.campaign.code_pct if use_code else 0.0,
                            attributed=e.campaign))
# Organic orders from list members.
for _ in range(17):
    p = rng.choice([q for q in PEOPLE if q.status != "cleaned"])  # bounced addresses do not buy
    t = max(p.joined, utc(2026, 1, 6)) + timedelta(minutes=rng.randint(60, 60 * 24 * 40))
    if t < utc(2026, 3, 31, 20):
        ORDERS.append(Order(t, p.email, p, p.first, p.last, pick_items()))
# Two buyers who are on no list, and one POS sale with no email at all.
ORDERS.append(Order(utc(2026, 1, 22, 17, 41, 9), "test91.buyer@example.net", None, "Test91", "Buyer", pick_items()))
ORDERS.append(Order(utc(2026, 3, 9, 13, 5, 44), "test92.buyer@example.org", None, "Test92", "Buyer", pick_items()))
ORDERS.append(Order(utc(2026, 2, 14, 19, 12, 30), "", None, "", "", pick_items(), source="pos"))

ORDERS.sort(key=lambda o: o.t)
next_id = 8123456780000
for n, o in enumerate(ORDERS):
    o.name = f"#{1001 + n}"
    next_id += rng.randint(1000, 99999)
    o.oid = next_id
    o.t = o.t.replace(microsecond=0)
    o.place = (o.person.place if o.person and o.person.place else rng.choice(PLACES[:6])) if o.source == "web" else None
    o.phone = ("+1" + o.person.phone.replace("-", "")) if o.person and o.person.phone else ""
# One refunded, one voided (cancelled before capture).
web_paid = [o for o in ORDERS if o.source == "web" and o.person is not None]
web_paid[3].financial = "refunded"
web_paid[-4].financial = "voided"

# ----------------------------------------------------------------------------- Mailchimp
MC = OUT / "mailchimp"

MC_MERGE = ["Email Address", "First Name", "Last Name", "Phone Number"]
MC_SYS_HEAD = ["MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP",
               "LATITUDE", "LONGITUDE", "GMTOFF", "DSTOFF", "TIMEZONE", "CC", "REGION"]
MC_SYS_TAIL = ["LEID", "EUID", "NOTES", "TAGS"]
MC_SUB = MC_MERGE + MC_SYS_HEAD + ["LAST_CHANGED"] + MC_SYS_TAIL
MC_UNSUB = MC_MERGE + MC_SYS_HEAD + ["UNSUB_TIME", "UNSUB_CAMPAIGN_TITLE", "UNSUB_CAMPAIGN_ID",
                                     "UNSUB_REASON", "UNSUB_REASON_OTHER"] + MC_SYS_TAIL
MC_CLEAN = MC_MERGE + MC_SYS_HEAD + ["CLEAN_TIME", "CLEAN_CAMPAIGN_TITLE", "CLEAN_CAMPAIGN_ID"] + MC_SYS_TAIL


CONFIRMED: dict[int, datetime] = {}


def mc_common(p: Person) -> list[str]:
    rating = max(1, min(5, 1 + round(p.engagement * 4)))
    optin = p.joined if p.double_optin else None
    confirm = p.joined + (timedelta(minutes=rng.randint(1, 240)) if p.double_optin else timedelta(0))
    CONFIRMED[p.idx] = confirm
    if p.place:
        city, reg, _rn, _z, cc, _cn, lat, lon, tz, gmt, dst = p.place
        geo = [f"{lat + rng.uniform(-0.05, 0.05):.7f}", f"{lon + rng.uniform(-0.05, 0.05):.7f}",
               str(gmt), str(dst), tz, cc, reg]
    else:
        geo = [""] * 7
    return ([p.email, p.first, p.last, p.phone, str(rating), fmt_mc(optin),
             p.optin_ip if p.double_optin else "", fmt_mc(confirm), p.confirm_ip] + geo)


def mc_tail(p: Person) -> list[str]:
    tags = ",".join(f'"{t}"' for t in p.tags)  # TAGS cell: "Tag A","Tag B" (CSV-escaped on write)
    note = "Asked about wholesale pricing" if p.idx == 12 else ""
    return [str(p.leid), p.euid, note, tags]


def last_changed(p: Person) -> datetime:
    t = CONFIRMED[p.idx] + timedelta(days=rng.randint(0, 20), minutes=rng.randint(0, 600))
    return min(t, utc(2026, 3, 30, 12))


sub_rows, unsub_rows, clean_rows = [], [], []
for p in PEOPLE:
    base = mc_common(p)
    if p.status == "subscribed":
        sub_rows.append(base + [fmt_mc(last_changed(p))] + mc_tail(p))
    elif p.status == "unsubscribed":
        c = p.status_campaign
        unsub_rows.append(base + [fmt_mc(p.status_time), c.title if c else "", c.mc_id if c else "",
                                  p.unsub_reason, p.unsub_reason_other] + mc_tail(p))
    else:
        c = p.status_campaign
        clean_rows.append(base + [fmt_mc(p.status_time), c.title, c.mc_id] + mc_tail(p))

if MC.exists():
    shutil.rmtree(MC)
write_csv(MC / f"subscribed_members_export_{LIST_ID}.csv", MC_SUB, sub_rows, mailchimp_quote)
write_csv(MC / f"unsubscribed_members_export_{LIST_ID}.csv", MC_UNSUB, unsub_rows, mailchimp_quote)
write_csv(MC / f"cleaned_members_export_{LIST_ID}.csv", MC_CLEAN, clean_rows, mailchimp_quote)

# Account export, granular_activity: one opens file and one clicks file per campaign.
for c in CAMPAIGNS:
    fname = f"{c.mc_web_id}_{c.title.replace(' ', '_')}.csv"
    opens = sorted((e for e in EVENTS if e.campaign is c and e.kind == "open"), key=lambda e: (e.t, e.person.idx))
    clks = sorted((e for e in EVENTS if e.campaign is c and e.kind == "click"), key=lambda e: (e.t, e.person.idx))
    write_csv(MC / "granular_activity" / "opens" / fname, ["Timestamp", "Email"],
              [[fmt_mc(e.t), e.person.email] for e in opens], mailchimp_quote)
    write_csv(MC / "granular_activity" / "clicks" / fname, ["Timestamp", "Email", "Url"],
              [[fmt_mc(e.t), e.person.email, e.url] for e in clks], mailchimp_quote)

# Marketing API GET /reports/{campaign_id}/email-activity, one row per activity item.
API_HEAD = ["campaign_id", "list_id", "list_is_active", "email_id", "email_address",
            "action", "type", "timestamp", "url", "ip"]
api_rows = []
ips = {p.idx: doc_ip() for p in PEOPLE}
for c in CAMPAIGNS:
    evs = sorted((e for e in EVENTS if e.campaign is c and e.kind in ("open", "click", "bounce")),
                 key=lambda e: (e.person.idx, e.t))
    for e in evs:
        api_rows.append([c.mc_id, LIST_ID, "true", hashlib.md5(e.person.email.lower().encode()).hexdigest(),
                         e.person.email, e.kind, e.bounce_type, fmt_iso(e.t), e.url,
                         "" if e.kind == "bounce" else ips[e.person.idx]])
write_csv(MC / "email_activity_api_flattened.csv", API_HEAD, api_rows, minimal_quote)

# ----------------------------------------------------------------------------- Klaviyo
KL = OUT / "klaviyo"
if KL.exists():
    shutil.rmtree(KL)

METRICS = {name: r_alnum(6) for name in ["Received Email", "Opened Email", "Clicked Email", "Unsubscribed",
                                          "Bounced Email", "Marked Email as Spam", "Placed Order"]}
KIND_METRIC = {"received": "Received Email", "open": "Opened Email", "click": "Clicked Email",
               "unsubscribe": "Unsubscribed", "bounce": "Bounced Email", "spam": "Marked Email as Spam"}

# Profiles: the 50 list members plus the two off-list Shopify buyers (never subscribed).
OFFLIST = []
for o in ORDERS:
    if o.person is None and o.email:
        OFFLIST.append(o)

orders_by_email: dict[str, list[Order]] = {}
for o in ORDERS:
    if o.email:
        orders_by_email.setdefault(o.email, []).append(o)


def order_total(o: Order) -> float:
    sub = sum(pr[3] * q for pr, q in o.items)
    disc = round(sub * o.code_pct, 2)
    ship = 0.0 if sub - disc >= 75 or o.source == "pos" else 6.95
    tax = round((sub - disc) * TAX_RATE, 2)
    return round(sub - disc + ship + tax, 2)


all_kl_events = sorted(EVENTS + FLOW_EVENTS, key=lambda e: (e.t, e.person.idx, e.kind))
KL_HEAD = ["Email", "Klaviyo ID", "First Name", "Last Name", "Organization", "Title", "Phone Number",
           "Address", "Address 2", "City", "State / Region", "Country", "Zip Code", "Latitude", "Longitude",
           "Source", "IP Address", "Email Marketing Consent", "Email Marketing Consent Timestamp",
           "Historic Customer Lifetime Value", "Total Customer Lifetime Value", "Predicted Customer Lifetime Value",
           "Average Order Value", "Historic Number Of Orders", "First Active", "Last Active", "Profile Created On",
           "Date Added", "Last Open", "Last Click", "Average Days Between Orders", "Email Suppressions"]


def kl_profile_row(email, kid, first, last, phone, place, source, ip, consent, consent_t, created, added,
                   suppressions) -> list[str]:
    os_ = [o for o in orders_by_email.get(email, []) if o.financial not in ("voided",)]
    hist = round(sum(order_total(o) for o in os_ if o.financial != "refunded"), 2)
    n = len([o for o in os_ if o.financial != "refunded"])
    pred = round(rng.uniform(0, 120), 2) if n else round(rng.uniform(0, 25), 2)
    evs = [e for e in all_kl_events if e.person.email == email]
    acts = [e.t for e in evs] + [o.t for o in os_]
    last_open = max((e.t for e in evs if e.kind == "open"), default=None)
    last_click = max((e.t for e in evs if e.kind == "click"), default=None)
    gaps = sorted(o.t for o in os_)
    avg_gap = (f"{(gaps[-1] - gaps[0]).total_seconds() / 86400 / (len(gaps) - 1):.1f}" if len(gaps) > 1 else "")
    if place:
        city, _rc, region, zip_, _cc, country, lat, lon, *_ = place
        loc = ["", "", city, region, country, zip_, f"{lat:.4f}", f"{lon:.4f}"]
    else:
        loc = [""] * 8
    f = lambda t: "" if t is None else t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return ([email, kid, first, last, "", "", ("+1" + phone.replace("-", "")) if phone else ""] + loc +
            [source, ip, consent, f(consent_t), money(hist), money(hist + pred), money(pred),
             money(hist / n) if n else money(0), str(n), f(min(acts, default=created)), f(max(acts, default=None)),
             f(created), f(added), f(last_open), f(last_click), avg_gap, json.dumps(suppressions)])


kl_rows = []
for p in PEOPLE:
    consent, supp = "SUBSCRIBED", []
    if p.status == "unsubscribed" and not p.spam_complaint and not p.admin_unsub:
        consent, supp = "UNSUBSCRIBED", ["UNSUBSCRIBE"]
    elif p.spam_complaint:
        supp = ["SPAM_COMPLAINT"]
    elif p.admin_unsub:
        supp = ["USER_SUPPRESSED"]
    elif p.status == "cleaned":
        supp = ["HARD_BOUNCE"]
    consent_t = p.status_time if consent == "UNSUBSCRIBED" else p.joined
    kl_rows.append(kl_profile_row(p.email, p.klaviyo_id, p.first, p.last, p.phone, p.place, p.klaviyo_source,
                                  p.confirm_ip, consent, consent_t, p.joined, p.joined, supp))
for o in OFFLIST:
    kid = r_ulid(o.t)
    o.kid = kid
    kl_rows.append(kl_profile_row(o.email, kid, o.bill_first, o.bill_last, "", o.place, "Shopify", doc_ip(),
                                  "NEVER_SUBSCRIBED", None, o.t, o.t, []))
write_csv(KL / "profiles_export.csv", KL_HEAD, kl_rows, minimal_quote)

# Events: flattened Get Events (GET /api/events, include=metric,profile), all seven metrics in one file.
EV_HEAD = ["id", "datetime", "timestamp", "metric_id", "metric_name", "profile_id", "profile_email",
           "Campaign Name", "Subject", "$message", "$flow", "Email Domain", "URL", "Bounce Type",
           "$event_id", "$value", "OrderId", "ItemNames", "Discount Code", "Items",
           "$attributed_message", "$attributed_flow"]
ev_rows = []
kid_by_email = {p.email: p.klaviyo_id for p in PEOPLE}
kid_by_email.update({o.email: o.kid for o in OFFLIST})
for e in all_kl_events:
    metric = KIND_METRIC[e.kind]
    if e.flow:
        camp_name, subject, message, flow = "", e.flow.subject, e.flow.message_id, e.flow.flow_id
    else:
        camp_name, subject, message, flow = e.campaign.title, e.campaign.subject, e.campaign.kl_id, ""
    url = e.url.replace("utm_source=email", "utm_source=klaviyo") if e.kind == "click" else ""
    ev_rows.append([r_alnum(11), fmt_iso(e.t), str(int(e.t.timestamp())), METRICS[metric], metric,
                    e.person.klaviyo_id, e.person.email, camp_name, subject, message, flow,
                    e.person.email.split("@")[1], url, e.bounce_type, "", "", "", "", "", "", "", ""])
for o in ORDERS:
    if not o.email:
        continue  # the POS sale without an email never reaches Klaviyo
    items = [{"ProductName": pr[0], "SKU": pr[2], "Quantity": q, "ItemPrice": pr[3]} for pr, q in o.items]
    attr_msg = o.attributed.kl_id if o.attributed else ""
    ev_rows.append([r_alnum(11), fmt_iso(o.t), str(int(o.t.timestamp())), METRICS["Placed Order"], "Placed Order",
                    kid_by_email[o.email], o.email, "", "", "", "", "", "", "",
                    str(o.oid), money(order_total(o)), o.name, json.dumps([pr[0] for pr, _ in o.items]),
                    o.code, json.dumps(items), attr_msg, ""])
ev_rows.sort(key=lambda r: (int(r[2]), r[4], r[6]))
write_csv(KL / "events_export.csv", EV_HEAD, ev_rows, minimal_quote)

# ----------------------------------------------------------------------------- Shopify
SH = OUT / "shopify"
if SH.exists():
    shutil.rmtree(SH)
SH_HEAD = ["Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Accepts Marketing",
           "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code", "Discount Amount", "Shipping Method",
           "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price",
           "Lineitem sku", "Lineitem requires shipping", "Lineitem taxable", "Lineitem fulfillment status",
           "Billing Name", "Billing Street", "Billing Address1", "Billing Address2", "Billing Company", "Billing City",
           "Billing Zip", "Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street",
           "Shipping Address1", "Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip",
           "Shipping Province", "Shipping Country", "Shipping Phone", "Notes", "Note Attributes", "Cancelled at",
           "Payment Method", "Payment Reference", "Refunded Amount", "Vendor", "Outstanding Balance", "Employee",
           "Location", "Device ID", "Id", "Tags", "Risk Level", "Source", "Lineitem discount", "Tax 1 Name",
           "Tax 1 Value", "Tax 2 Name", "Tax 2 Value", "Tax 3 Name", "Tax 3 Value", "Tax 4 Name", "Tax 4 Value",
           "Tax 5 Name", "Tax 5 Value", "Phone", "Receipt Number", "Duties", "Billing Province Name",
           "Shipping Province Name", "Payment ID", "Payment Terms Name", "Next Payment Due At", "Payment References"]
COL = {h: i for i, h in enumerate(SH_HEAD)}
ALWAYS_QUOTED_EMPTY = {COL["Note Attributes"], COL["Tags"]}  # seen as "" in a real export row


sh_lines = [",".join(SH_HEAD)]


def sh_cell(i: int, v: str, first_row: bool) -> str:
    if v == "" and first_row and i in ALWAYS_QUOTED_EMPTY:
        return '""'
    if any(c in v for c in ',"\n\r'):
        return '"' + v.replace('"', '""') + '"'
    return v


for o in ORDERS:
    sub = round(sum(pr[3] * q for pr, q in o.items), 2)
    disc = round(sub * o.code_pct, 2)
    ship = 0.0 if sub - disc >= 75 or o.source == "pos" else 6.95
    tax = round((sub - disc) * TAX_RATE, 2)
    total = round(sub - disc + ship + tax, 2)
    paid_t = None if o.financial == "voided" else o.t + timedelta(seconds=rng.randint(1, 20))
    cancelled = o.t + timedelta(hours=rng.randint(2, 30)) if o.financial == "voided" else None
    fulfilled = (o.t + timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 8))
                 if o.financial != "voided" else None)
    if o.source == "pos":
        fulfilled = o.t
    ref = r_alnum(25)
    full_name = f"{o.bill_first} {o.bill_last}".strip()
    if o.place:
        city, reg, _rn, zip_, cc, *_ = o.place
        street = f"{rng.randint(10, 999)} Example Street"
        zip_cell = "'" + zip_ if zip_[0].isdigit() else zip_  # leading apostrophe keeps leading zeros
        addr = [full_name, street, street, "", "", city, zip_cell, reg, cc, o.phone]
    else:
        addr = [""] * 10
    accepts = "yes" if (o.person and o.person.status == "subscribed") else "no"
    for k, (pr, q) in enumerate(o.items):
        title, variant, sku, price, cap = pr
        lname = title if variant == "Default Title" else f"{title} - {variant}"
        row = [""] * len(SH_HEAD)
        row[COL["Name"]] = o.name
        row[COL["Email"]] = o.email
        row[COL["Created at"]] = fmt_shopify(o.t)
        row[COL["Lineitem quantity"]] = str(q)
        row[COL["Lineitem name"]] = lname
        row[COL["Lineitem price"]] = money(price)
        row[COL["Lineitem compare at price"]] = money(cap) if cap else ""
        row[COL["Lineitem sku"]] = sku
        row[COL["Lineitem requires shipping"]] = "false" if o.source == "pos" else "true"
        row[COL["Lineitem taxable"]] = "true"
        row[COL["Lineitem fulfillment status"]] = "fulfilled" if fulfilled else "pending"
        row[COL["Vendor"]] = VENDOR
        row[COL["Lineitem discount"]] = "0.00"
        if k == 0:  # order-level fields only on the first line-item row
            row[COL["Financial Status"]] = o.financial
            row[COL["Paid at"]] = fmt_shopify(paid_t)
            row[COL["Fulfillment Status"]] = "fulfilled" if fulfilled else "unfulfilled"
            row[COL["Fulfilled at"]] = fmt_shopify(fulfilled)
            row[COL["Accepts Marketing"]] = accepts
            row[COL["Currency"]] = "USD"
            row[COL["Subtotal"]] = money(sub - disc)
            row[COL["Shipping"]] = money(ship)
            row[COL["Taxes"]] = money(tax)
            row[COL["Total"]] = money(total)
            row[COL["Discount Code"]] = o.code
            row[COL["Discount Amount"]] = money(disc)
            row[COL["Shipping Method"]] = "" if o.source == "pos" else ("Free Shipping" if ship == 0 else "Standard")
            for j, h in enumerate(["Name", "Street", "Address1", "Address2", "Company", "City", "Zip",
                                   "Province", "Country", "Phone"]):
                row[COL["Billing " + h]] = addr[j]
                row[COL["Shipping " + h]] = addr[j]
            row[COL["Cancelled at"]] = fmt_shopify(cancelled)
            row[COL["Payment Method"]] = "Cash" if o.source == "pos" else "Shopify Payments"
            row[COL["Payment Reference"]] = ref
            row[COL["Refunded Amount"]] = money(total if o.financial == "refunded" else 0.0)
            row[COL["Outstanding Balance"]] = money(0.0)
            row[COL["Location"]] = "Main Street Shop" if o.source == "pos" else ""
            row[COL["Id"]] = str(o.oid)
            row[COL["Notes"]] = "Gift, please no invoice in box" if o.name == "#1012" else ""
            row[COL["Risk Level"]] = "Low"
            row[COL["Source"]] = o.source
            row[COL["Tax 1 Name"]] = "Sales Tax 7%"
            row[COL["Tax 1 Value"]] = money(tax)
            row[COL["Phone"]] = o.phone
            row[COL["Billing Province Name"]] = o.place[2] if o.place else ""
            row[COL["Shipping Province Name"]] = o.place[2] if o.place else ""
            row[COL["Payment ID"]] = ref
            row[COL["Payment References"]] = ref
        sh_lines.append(",".join(sh_cell(i, v, k == 0) for i, v in enumerate(row)))
SH.mkdir(parents=True, exist_ok=True)
(SH / "orders_export_1.csv").write_text("\n".join(sh_lines) + "\n", encoding="utf-8")

# ----------------------------------------------------------------------------- summary
n_lines = sum(len(o.items) for o in ORDERS)
print(f"mailchimp: {len(sub_rows)} subscribed, {len(unsub_rows)} unsubscribed, {len(clean_rows)} cleaned; "
      f"{len(api_rows)} API activity rows")
print(f"klaviyo:   {len(kl_rows)} profiles, {len(ev_rows)} events")
print(f"shopify:   {len(ORDERS)} orders, {n_lines} line-item rows")
for c in CAMPAIGNS:
    print(f"  campaign {c.n}: {c.title!r} mc_id={c.mc_id} web_id={c.mc_web_id} kl_id={c.kl_id} send={fmt_iso(c.send)}")
