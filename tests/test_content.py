"""Dynamic content: the variant library, the choice per segment, the emails, their accessibility,
the compose folder and the ``workbench compose`` verb, and the previews in a real browser."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.cli import main
from workbench.content import (
    BLOCKS,
    check_email,
    choose_content,
    compose,
    email_explorer,
    leading_arms,
    load_catalogue,
    preview_emails,
    render_email,
    side_by_side,
)
from workbench.content.accessibility import check_html
from workbench.content.blocks import SAFE_URL, parse_catalogue
from workbench.content.choose import SegmentProfile, _choose_block, _Rules
from workbench.content.compose import MARKER, VARIANT_COLUMNS, read_segments
from workbench.content.render import MOTIFS, placeholder_image
from workbench.content.widgets import side_by_side_html
from workbench.errors import DataError, WorkbenchError
from workbench.features import compute_features

CAT = load_catalogue()
DEFAULTS = {b: CAT[b].default.id for b in BLOCKS}


# ------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny world, generated and segmented through the command line, as a user would."""
    root = tmp_path_factory.mktemp("content")
    w = root / "world"
    assert main(["generate", "--scenario", "tiny", "--seed", "3", "--out", str(w), "--quiet"]) == 0
    assert main(["segment", "--world", str(w), "--out", str(root / "seg.csv")]) == 0
    return w


@pytest.fixture(scope="module")
def seg_file(world: Path) -> Path:
    return world.parent / "seg.csv"


@pytest.fixture(scope="module")
def composed(world: Path, seg_file: Path) -> Path:
    """``workbench compose`` end to end."""
    out = world.parent / "compose"
    argv = ["compose", "--world", str(world), "--segments", str(seg_file), "--out", str(out)]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="module")
def choices(world: Path, seg_file: Path) -> pd.DataFrame:
    return choose_content(world, pd.read_csv(seg_file))


# ------------------------------------------------------------------------------- library


def test_the_library_has_six_blocks_each_with_one_default_and_safe_links() -> None:
    assert tuple(CAT) == BLOCKS == (
        "subject", "preheader", "hero", "cta", "proof", "recommendations"
    )  # fmt: skip
    ids = [v.id for b in BLOCKS for v in CAT[b].variants]
    assert len(ids) == len(set(ids))
    for b in BLOCKS:
        assert sum(v.default for v in CAT[b].variants) == 1
        for v in CAT[b].variants:
            for url in v.urls():
                assert SAFE_URL.match(url), url
            if "art" in v.content:
                assert v.content["art"]["motif"] in MOTIFS
    # every arm of the built-in scenarios' content tests maps to a variant of its block
    for block, arms in {
        "subject": ["control", "urgency", "proof", "plain"],
        "hero": ["control", "discount", "sustainability", "product", "lifestyle"],
        "cta": ["shop", "proof"],
    }.items():
        for arm in arms:
            assert CAT[block].matching("arms", arm) is not None, (block, arm)
    assert CAT.block_for("subject line") is CAT["subject"]
    assert CAT.block_for("offer") is CAT["hero"]
    assert CAT.block_for("image") is CAT["hero"]
    assert CAT.block_for("cta") is CAT["cta"]
    assert CAT.block_for("cadence") is None


def _raw_library() -> dict:
    import tomllib

    from workbench.content.blocks import DEFAULT_LIBRARY

    return tomllib.loads(DEFAULT_LIBRARY.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d["cta"]["variants"][0].update(url="https://shop.real-brand.com/x"), "example"),
        (lambda d: d["hero"]["variants"][1].update(default=True), "exactly one default"),
        (lambda d: d["subject"]["variants"][1].update(id="subject_plain"), "used twice"),
        (lambda d: d["subject"]["variants"][1].update(lifecycle=["zombie"]), "lifecycle stage"),
        (lambda d: d["hero"]["variants"][0].pop("alt"), "lacks alt"),
        (lambda d: d.pop("proof"), "no [proof] block"),
        (lambda d: d["subject"]["variants"][0].update(text="write to jo@mail.test"), "personal"),
    ],
)
def test_a_bad_library_is_refused_with_a_reason(change, fragment: str) -> None:
    data = _raw_library()
    change(data)
    with pytest.raises(WorkbenchError, match=re.escape(fragment)):
        parse_catalogue(data, "my-blocks.toml")


def test_placeholder_pictures_are_svg_data_uris_without_a_raw_hash() -> None:
    for motif in MOTIFS:
        uri = placeholder_image({"motif": motif, "colors": ["#123456", "#abcdef"]}, 120, 80)
        assert uri.startswith("data:image/svg+xml,")
        assert "#" not in uri  # a raw '#' would end the data URI (fragment)
    with pytest.raises(WorkbenchError, match="motif"):
        placeholder_image({"motif": "unicorn", "colors": ["#000000", "#ffffff"]}, 10, 10)


# ------------------------------------------------------------------------------- choosing


def _profile(**kw) -> SegmentProfile:
    base = dict(
        subscribers=300,
        content=pd.Series({"deals": 2.0, "webinar": 1.0}),
        readers=150,
        products=pd.Series({"outdoor": 1.05, "home": 1.0}),
        buyers=60,
        stage="lapsing",
        stage_share=0.6,
    )
    base.update(kw)
    return SegmentProfile(**base)


RULES = _Rules(min_certainty=0.8, min_recipients=100, min_lift=1.2, min_readers=20, min_buyers=20)
NO_TESTS = pd.DataFrame(
    columns=["segment", "block", "test", "experiment_id", "factor", "leader", "variant",
             "prob_best", "recipients"]
)  # fmt: skip


def _tests(leader: str, variant: str, p: float, n: int = 400) -> pd.DataFrame:
    row = dict(segment=0, block="subject", test="subject line: a vs b", experiment_id=1,
               factor=None, leader=leader, variant=variant, prob_best=p, recipients=n)  # fmt: skip
    return pd.DataFrame([row])


def test_the_rules_in_order_test_then_affinity_or_lifecycle_then_default() -> None:
    prof = _profile()
    v, src, cert, why = _choose_block(CAT["hero"], prof, NO_TESTS, RULES)
    assert (v, src) == ("hero_deals", "affinity") and np.isnan(cert)
    assert "deals takes 2.00×" in why and "150 readers" in why
    v, src, _, why = _choose_block(CAT["subject"], prof, NO_TESTS, RULES)
    assert (v, src) == ("subject_winback", "lifecycle") and "lapsing (60%" in why
    # the proof row: lapsing subscribers see reviews before the affinity is asked
    assert _choose_block(CAT["proof"], prof, NO_TESTS, RULES)[:2] == ("proof_reviews", "lifecycle")
    # recommendations: no product stands out (1.05 < 1.2) and no variant for deals content
    v, src, _, why = _choose_block(CAT["recommendations"], prof, NO_TESTS, RULES)
    assert (v, src) == ("recs_bestsellers", "default")
    assert "no product category stands out" in why
    # weak or thin evidence gives the default, and says why
    weak = _profile(content=pd.Series({"deals": 1.1}))
    v, src, _, why = _choose_block(CAT["hero"], weak, NO_TESTS, RULES)
    assert (v, src) == ("hero_new_arrivals", "default") and "below 1.20×" in why
    thin = _profile(readers=5)
    assert "too few readers (5)" in _choose_block(CAT["hero"], thin, NO_TESTS, RULES)[3]
    # a certain test beats the lifecycle rule, and its certainty is kept
    v, src, cert, why = _choose_block(CAT["subject"], prof, _tests("proof", "subject_proof", 0.93),
                                      RULES)  # fmt: skip
    assert (v, src, cert) == ("subject_proof", "test", 0.93)
    assert why == ("Subject line 'proof' won the 'subject line: a vs b' test in this segment "
                   "(P(best) = 0.93, 400 recipients).")  # fmt: skip
    # an uncertain one is named, and the next rule decides
    v, src, cert, why = _choose_block(CAT["subject"], prof, _tests("proof", "subject_proof", 0.61),
                                      RULES)  # fmt: skip
    assert (v, src, cert) == ("subject_winback", "lifecycle", 0.61)
    assert why.startswith("No clear winner of the 'subject line: a vs b' test in this segment")
    assert "P(best) = 0.61, below 0.80" in why
    # too few recipients, or an arm the library does not know: fall back too
    small = _choose_block(CAT["subject"], prof, _tests("proof", "subject_proof", 0.99, 30), RULES)
    assert small[1] == "lifecycle" and "reached only 30 recipients" in small[3]
    odd = _choose_block(CAT["subject"], prof, _tests("emoji", "", 0.99), RULES)
    assert odd[1] == "lifecycle" and "no subject line variant for it" in odd[3]


def test_choices_cover_every_segment_and_block_and_follow_the_test_certainty(
    world: Path, seg_file: Path, choices: pd.DataFrame
) -> None:
    seg = pd.read_csv(seg_file)
    assert list(choices.columns) == [
        "segment", "segment_name", "block", "variant", "source", "certainty", "reason"
    ]  # fmt: skip
    assert len(choices) == seg["segment"].nunique() * len(BLOCKS)
    assert set(choices["source"]) <= {"test", "affinity", "lifecycle", "default"}
    for r in choices.itertuples(index=False):
        assert CAT[r.block].variant(r.variant)  # a known variant of its own block
        assert r.reason.endswith(".") and "\n" not in r.reason
    tests = choices["source"] == "test"
    assert tests.any(), "the tiny world's tests decide some blocks"
    assert (choices.loc[tests, "certainty"] >= 0.8).all()
    # every covered block whose best usable test reaches 0.8 is decided by it, the others not
    leaders = leading_arms(world, seg)
    assert set(leaders["block"]) == {"subject", "hero", "cta"}
    usable = leaders.loc[(leaders["recipients"] >= 100) & (leaders["variant"] != "")]
    best = usable.groupby(["segment", "block"])["prob_best"].max()
    got = choices.set_index(["segment", "block"])
    for (s, b), p in best.items():
        assert (got.loc[(s, b), "source"] == "test") == (p >= 0.8), (s, b, p)
    # blocks no test covers have no certainty
    assert (
        choices.loc[choices["block"].isin(["preheader", "recommendations"]), "certainty"]
        .isna()
        .all()
    )


def test_without_tests_nothing_is_decided_by_a_test(world: Path, seg_file: Path) -> None:
    got = choose_content(world, pd.read_csv(seg_file), tests=False)
    assert "test" not in set(got["source"]) and got["certainty"].isna().all()


def test_a_certain_winner_is_picked_and_an_uncertain_test_falls_back(
    world: Path, seg_file: Path, tmp_path: Path
) -> None:
    """Make 'proof' win the subject-line test in every segment: each recipient of the 'proof'
    arm orders within the window. Then every segment the test reached picks it."""
    w = tmp_path / "world"
    shutil.copytree(world, w)
    asg = pd.read_parquet(w / "assignments.parquet")
    exps = pd.read_parquet(w / "experiments.parquet")
    eid = int(exps.loc[exps["name"].str.startswith("subject line"), "experiment_id"].iloc[0])
    proof = asg.loc[(asg["experiment_id"] == eid) & (asg["arm"] == "proof")]
    orders = pd.read_parquet(w / "orders.parquet")
    extra = pd.DataFrame(
        {
            "order_id": orders["order_id"].max() + 1 + np.arange(len(proof), dtype="int64"),
            "subscriber_id": proof["subscriber_id"].to_numpy(),
            "ts": proof["assigned_ts"].to_numpy() + pd.Timedelta(hours=6),
            "revenue": 40.0,
            "n_items": np.int64(1),
            "category": "home",
        }
    )
    pd.concat([orders, extra], ignore_index=True).to_parquet(w / "orders.parquet", index=False)
    seg = pd.read_csv(seg_file)
    got = choose_content(w, seg).set_index(["segment", "block"])
    reached = leading_arms(w, seg)
    reached = reached.loc[(reached["experiment_id"] == eid) & (reached["recipients"] >= 100)]
    assert len(reached) >= 3
    for s in reached["segment"]:
        row = got.loc[(s, "subject")]
        assert row["variant"] == "subject_proof" and row["source"] == "test", row["reason"]
        assert row["certainty"] > 0.99
        assert "won the 'subject line: urgency vs proof' test" in row["reason"]
        assert "P(best) = 1.00" in row["reason"]
    # in the world as generated, a strict bar: the tests below it fall back and say so
    strict = choose_content(world, seg, min_certainty=0.999)
    below = strict["certainty"].notna() & (strict["certainty"] < 0.999)
    assert below.sum() >= 10 and (strict.loc[below, "source"] != "test").all()
    reasons = strict.loc[below, "reason"]
    assert reasons.str.contains("No clear winner|reached only|no .* variant for it").all()


# ------------------------------------------------------------------------------- rendering


def _visible(email, variant) -> list[str]:
    """The texts of a variant that must show in the HTML part and in the plain-text part."""
    c = variant.content
    if variant.block in ("subject", "preheader"):
        return [c["text"]]
    if variant.block == "hero":
        return [c["headline"]]
    if variant.block == "cta":
        return [c["text"], c["url"]]
    if variant.block == "proof":
        return [c["title"], *(it["figure"] for it in c["items"])]
    return [it["name"] for it in c["items"]] + [it["url"] for it in c["items"]]


@pytest.mark.parametrize("block", BLOCKS)
def test_every_variant_shows_in_both_parts_and_passes_the_checks(block: str) -> None:
    import html as h

    for v in CAT[block].variants:
        email = render_email({**DEFAULTS, block: v.id}, "segment 1")
        page = h.unescape(email.html)
        for text in _visible(email, v):
            assert text in page, (v.id, text)
            if block == "subject":
                assert email.subject == text and f"<title>{text}</title>" in page
            elif block == "proof" and text == v.content["title"]:
                assert text.upper() in email.text
            else:
                assert text in email.text, (v.id, text)
        if block == "hero":
            assert f'alt="{v.content["alt"]}"' in page
        assert email.variants[block] == v.id
        assert check_email(email) == [], v.id


def test_values_are_escaped_in_the_html_but_not_in_the_text() -> None:
    evil = "<script>alert('x')</script> & co"
    email = render_email(DEFAULTS, evil)
    assert "<script>alert" not in email.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in email.html
    assert "&#39;" not in email.text and "This week's new arrivals" in email.html.replace(
        "&#39;", "'"
    )  # fmt: skip
    card = side_by_side_html({0: email}, None)
    assert "<script>alert" not in card
    with pytest.raises(WorkbenchError, match="no variant chosen"):
        render_email({"subject": "subject_plain"})
    with pytest.raises(WorkbenchError, match="no variant 'nope'"):
        render_email({**DEFAULTS, "hero": "nope"})


# --------------------------------------------------------------------------- accessibility


GOOD = render_email(DEFAULTS, "s")


def _broken(old: str, new: str, count: int = 1) -> str:
    assert old in GOOD.html, old
    return GOOD.html.replace(old, new, count)


@pytest.mark.parametrize(
    ("page", "text", "fragment"),
    [
        (_broken('<html lang="en">', "<html>"), GOOD.text, "no lang attribute"),
        (re.sub(r"<title>.*?</title>", "<title> </title>", GOOD.html), GOOD.text, "no <title>"),
        (re.sub(r'alt="An oat[^"]*"', 'alt=""', GOOD.html, count=1), GOOD.text, "no alt text"),
        (re.sub(r' alt="New linen[^"]*"', "", GOOD.html), GOOD.text, "picture 1 has no alt"),
        (_broken(">Shop this week&#39;s picks<", ">Click here<"), GOOD.text, "says only"),
        (_broken(">Manage your email preferences<", ">read more<"), GOOD.text, "says only"),
        (
            _broken(">Unsubscribe from these emails<", ">https://shop.example.com/unsubscribe<"),
            GOOD.text,
            "bare URL",
        ),  # fmt: skip
        (_broken(">View this email in your browser<", "><"), GOOD.text, "has no text"),
        (GOOD.html, "", "no plain-text part"),
        (GOOD.html, GOOD.text.replace("https://shop.example.com/new", ""), "lacks the link"),
    ],
)
def test_each_accessibility_fault_is_found(page: str, text: str, fragment: str) -> None:
    assert check_html(GOOD.html, GOOD.text) == []
    problems = check_html(page, text)
    assert any(fragment in p for p in problems), problems


def test_a_picture_link_is_named_by_its_alt_text() -> None:
    page = (
        '<html lang="en"><title>t</title><a href="https://x.example.com/a">'
        '<img src="a" alt="A red chair"></a></html>'
    )
    assert check_html(page, "https://x.example.com/a") == []
    bare = page.replace(' alt="A red chair"', "")
    assert any("has no text" in p for p in check_html(bare, "https://x.example.com/a"))


# ---------------------------------------------------------------------------- compose folder


def test_compose_writes_previews_mapping_choices_and_index(
    world: Path, seg_file: Path, composed: Path
) -> None:
    seg = pd.read_csv(seg_file)
    feats = compute_features(world)
    reach = set(feats.index[feats["email_reachable"] == 1])
    variants = pd.read_csv(composed / "variants.csv")
    assert tuple(variants.columns) == VARIANT_COLUMNS
    assert set(variants["subscriber_id"]) == reach & set(seg["subscriber_id"])
    assert variants["subscriber_id"].is_monotonic_increasing
    # each subscriber gets their segment's choices
    ch = pd.read_csv(composed / "choices.csv")
    wide = ch.pivot(index="segment", columns="block", values="variant")
    merged = variants.join(wide.add_suffix("_expected"), on="segment")
    for b in BLOCKS:
        assert (merged[b] == merged[f"{b}_expected"]).all()
    marker = __import__("json").loads((composed / MARKER).read_text())
    assert marker["excluded"] == len(seg) - len(variants) > 0
    assert marker["mapped"] == len(variants)
    previews = sorted((composed / "previews").iterdir())
    n = ch["segment"].nunique()
    assert len([p for p in previews if p.suffix == ".html"]) == n
    assert len([p for p in previews if p.suffix == ".txt"]) == n
    for p in previews:
        if p.suffix == ".txt":
            assert p.read_text().startswith("Subject: ")
    acc = pd.read_csv(composed / "accessibility.csv")
    assert list(acc.columns) == ["segment", "problem"] and acc.empty
    index = (composed / "index.html").read_text()
    assert index.count("<iframe") == n and "http://" not in index.replace("http://www.w3.org", "")
    for reason in ch["reason"].head(12):
        assert __import__("html").escape(reason, quote=True) in index


def test_compose_refuses_to_overwrite_and_leaves_nothing_on_failure(
    world: Path, seg_file: Path, composed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sorted(p.name for p in composed.iterdir())
    with pytest.raises(WorkbenchError, match="already exists"):
        compose(world, seg_file, composed)
    user = tmp_path / "thesis"
    user.mkdir()
    (user / "chapter.txt").write_text("mine")
    with pytest.raises(WorkbenchError, match="not a compose folder"):
        compose(world, seg_file, user, overwrite=True)
    assert (user / "chapter.txt").read_text() == "mine"
    with pytest.raises(WorkbenchError, match="inside the input folder"):
        compose(world, seg_file, world / "emails")
    # a failure while writing leaves no folder and no temporary behind
    mod = sys.modules["workbench.content.compose"]  # the package exports compose() itself

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(mod, "index_page", boom)
    out = tmp_path / "emails"
    with pytest.raises(RuntimeError, match="disk full"):
        compose(world, seg_file, out)
    assert not out.exists()
    assert [p for p in tmp_path.iterdir() if ".partial" in p.name] == []
    assert sorted(p.name for p in composed.iterdir()) == before


def test_a_segment_nobody_can_be_emailed_in_gets_no_preview(world: Path) -> None:
    feats = compute_features(world)
    seg = pd.Series(np.where(feats["email_reachable"] == 1, "readers", "gone"), index=feats.index)
    res = preview_emails(world, seg)
    assert list(res.emails) == ["readers"] and res.not_emailed == ["gone"]
    assert res.excluded == int((feats["email_reachable"] == 0).sum())
    assert set(res.choices["segment"]) == {"readers"}


def test_cli_summary_line(world: Path, seg_file: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "c"
    argv = ["compose", "--world", str(world), "--segments", str(seg_file), "--out", str(out),
            "--min-certainty", "0.95", "--min-recipients", "50"]  # fmt: skip
    assert main(argv) == 0
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(r"\d+ previews, [\d,]+ subscribers mapped to variants \([\d,]+ not "
                        r"reachable by email left out\), \d+ of \d+ block choices decided by a "
                        r"test, 0 accessibility problems -> .+", line), line  # fmt: skip
    assert main([*argv, "--overwrite"]) == 0  # an earlier compose folder is replaced


def _bad(tmp: Path, text: str, name: str = "seg.csv") -> str:
    p = tmp / name
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("subscriber_id,cluster\n1,0\n", "column 'segment': column not found"),
        ("id,segment\n1,0\n", "column 'subscriber_id': column not found"),
        (
            "subscriber_id,segment\n1,0\nabc,1\n",
            "'subscriber_id': values that are not subscriber ids in 1 row (first: line 3",
        ),  # fmt: skip
        ("subscriber_id,segment\n1,0\n999999,1\n", "subscribers not in the world"),
        ("subscriber_id,segment\n1,0\n1,1\n", "repeated subscriber ids in 1 row (first: line 3"),
        ("subscriber_id,segment\n1,0\n2,\n", "column 'segment': missing segments"),
        ("", "empty file"),
        ("subscriber_id,segment\n1,0,9\n", "wrong number of fields"),
    ],
)
def test_a_bad_segments_file_is_one_line_and_status_2(
    world: Path, tmp_path: Path, capsys, content: str, fragment: str
) -> None:
    f = _bad(tmp_path, content)
    out = tmp_path / "out"
    status = main(["compose", "--world", str(world), "--segments", f, "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("workbench compose: error: "), err
    assert f in lines[0] and fragment in lines[0], lines[0]
    assert not out.exists()


def test_read_segments_reads_parquet_and_names_the_segments(world: Path, tmp_path: Path) -> None:
    df = pd.DataFrame({"subscriber_id": [3, 1], "segment": ["b", "a"]})
    df.to_parquet(tmp_path / "s.parquet")
    got = read_segments(tmp_path / "s.parquet", world)
    assert list(got["segment_name"]) == ["segment b", "segment a"]
    with pytest.raises(DataError, match="not in the world"):
        read_segments(_bad(tmp_path, "subscriber_id,segment\n-4,a\n"), world)


# ---------------------------------------------------------------------------- widgets, report


def test_the_explorer_shows_the_chosen_segment_and_its_send_window(world: Path) -> None:
    emails = {s: render_email({**DEFAULTS, "hero": h}, f"seg {s}")
              for s, h in [(0, "hero_deals"), (1, "hero_webinar")]}  # fmt: skip
    windows = pd.DataFrame({"segment": [0, 1], "text": ["07:00–09:00 local", "19:00–21:00 local"]})
    box = email_explorer(emails, windows)
    pick, view = box.children
    assert "07:00–09:00 local" in view.value and "20% off" in view.value
    pick.value = 1
    assert "19:00–21:00 local" in view.value and "caring for natural fabrics" in view.value
    hours = pd.DataFrame({"segment": [0, 1], "recommended_hour": [7.0, 20.0]})
    assert "around 07:00 local time" in email_explorer(emails, hours).children[1].value
    cards = side_by_side(emails).data
    assert cards.count("<iframe") == 2 and "Segment 1: seg 1" in cards


def test_the_side_by_side_view_survives_the_report_page(world: Path, seg_file: Path) -> None:
    """The report keeps text/html outputs as they are: the iframes stay, and their pictures do
    not count as the report's figures (the same hero in two segments is not a repeated image)."""
    import nbformat

    from workbench.reports.html import Section, page_problems, render_html

    res = preview_emails(world, seg_file, tests=False)
    shown = side_by_side(res).data
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("## Emails\nEach segment's email, with the reasons."),
        nbformat.v4.new_code_cell(
            "side_by_side(res)",
            outputs=[nbformat.v4.new_output("display_data", data={"text/html": shown})],
        ),
    ]
    page = render_html([Section("07-content", "Content", nb)], [("world", "tiny")])
    assert page.count("<iframe") == len(res.emails) and page.count("srcdoc=") == len(res.emails)
    assert page_problems(page) == []


# ------------------------------------------------------------------------------- browser


@pytest.mark.slow
def test_previews_and_index_open_in_chromium_without_errors(composed: Path) -> None:
    from workbench.reports.pdf import find_chromium

    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium (Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    pages = sorted((composed / "previews").glob("*.html")) + [composed / "index.html"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            for f in pages:
                errors: list[str] = []
                requests: list[str] = []
                pg = browser.new_page(viewport={"width": 1400, "height": 1000})
                pg.on(
                    "console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None
                )
                pg.on("pageerror", lambda x, e=errors: e.append(str(x)))
                pg.on("request", lambda r, q=requests: q.append(r.url))
                pg.goto(f.as_uri(), wait_until="load")
                frames = pg.frames
                widths = []
                for fr in frames:
                    widths += fr.evaluate(
                        "Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)"
                    )
                assert errors == [], (f.name, errors)
                assert [u for u in requests if not u.startswith(("file:", "data:", "about:"))] == []
                assert widths and min(widths) > 0, (f.name, widths)
                if f.name == "index.html":
                    n = len(list((composed / "previews").glob("*.html")))
                    assert len(frames) == n + 1
                    heights = pg.evaluate(
                        "Array.from(document.querySelectorAll('iframe')).map(f => f.clientHeight)"
                    )
                    assert min(heights) > 600  # sized to the email, not a sliver
                    pg.screenshot(path="/tmp/content-index.png", full_page=True)
                pg.close()
        finally:
            browser.close()


def test_hashed_ids_of_an_imported_world_keep_every_digit() -> None:
    """An import replaces addresses by a salted hash: ids up to 2**63, beyond float64's 2**53."""
    from workbench.content.compose import check_segments

    big = [367353483633863500, 1098748513412169148, 2**53 + 1]
    seg = pd.DataFrame({"subscriber_id": big, "segment": [0, 1, 1]})
    out = check_segments(seg, "s.csv", known_ids=np.array(big, dtype="int64"))
    assert out["subscriber_id"].tolist() == big
    as_text = seg.assign(subscriber_id=[str(v) for v in big])  # as a CSV reader may give them
    assert check_segments(as_text, "s.csv", known_ids=big)["subscriber_id"].tolist() == big
    with pytest.raises(DataError, match="not in the world"):
        check_segments(seg, "s.csv", known_ids=np.array(big[:2], dtype="int64"))
    bad = seg.assign(subscriber_id=["1.5", "99999999999999999999", "7"])
    with pytest.raises(DataError, match="not subscriber ids in 2 rows"):
        check_segments(bad, "s.csv")
