"""Accessibility basics of an email: what a screen-reader user or a plain-text reader would miss.

:func:`check_email` reads the HTML part with the standard library's :mod:`html.parser` and checks

- the document: ``<html lang>`` and a non-empty ``<title>``;
- pictures: every ``<img>`` has a non-empty ``alt`` (an empty ``alt`` marks a decorative picture,
  which an email's content pictures are not);
- links: every link has text that says where it goes: not empty (a picture in a link counts by its
  alt text), not a bare URL, not "click here", "here", "read more", "more", "learn more" or
  "this";
- the plain-text part: it exists and carries the URL of every link of the HTML part.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

#: Link texts that say nothing about where the link goes (compared in lower case, without
#: punctuation).
VAGUE_LINK_TEXTS: frozenset[str] = frozenset(
    {"click here", "here", "read more", "more", "learn more", "this", "link", "click", "go"}
)


class _Scan(HTMLParser):
    """Collect what the checks need: the html tag's lang, the title, pictures and links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.saw_html = False
        self.title: str | None = None
        self._in_title = False
        self.images: list[dict[str, str | None]] = []
        self.links: list[dict[str, Any]] = []
        self._link: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html" and not self.saw_html:
            self.saw_html = True
            self.lang = a.get("lang")
        elif tag == "title":
            self._in_title = True
            self.title = self.title or ""
        elif tag == "img":
            self.images.append(a)
            if self._link is not None:
                self._link["text"].append(a.get("alt") or "")
        elif tag == "a" and a.get("href") is not None:
            self._link = {"href": a.get("href") or "", "text": [], "label": a.get("aria-label")}
            self.links.append(self._link)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "a":
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = (self.title or "") + data
        if self._link is not None:
            self._link["text"].append(data)


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def check_html(page: str, text: str | None) -> list[str]:
    """The accessibility problems of an HTML part and its plain-text part.

    Parameters
    ----------
    page : str
        The HTML part.
    text : str or None
        The plain-text part (``None`` or blank: missing).

    Returns
    -------
    list of str
        One plain line per problem; empty when none is found.
    """
    scan = _Scan()
    scan.feed(page)
    scan.close()
    problems = []
    if not scan.saw_html:
        problems.append("no <html> element")
    elif not (scan.lang or "").strip():
        problems.append("the <html> element has no lang attribute (screen readers guess)")
    if scan.title is None or not scan.title.strip():
        problems.append("no <title> (or an empty one)")
    for i, img in enumerate(scan.images, start=1):
        if not (img.get("alt") or "").strip():
            src = _short(str(img.get("src") or ""), 40)
            problems.append(f"picture {i} has no alt text (src {src})")
    for i, link in enumerate(scan.links, start=1):
        label = (link["label"] or "").strip() or " ".join("".join(link["text"]).split())
        href = link["href"]
        if not label:
            problems.append(f"link {i} to {href} has no text")
        elif _words(label) in VAGUE_LINK_TEXTS:
            problems.append(f"link {i} to {href} says only {label!r}: say where it goes")
        elif re.fullmatch(r"(https?://|www\.)\S+", label):
            problems.append(f"link {i} to {href} shows a bare URL as its text")
    if text is None or not text.strip():
        problems.append("no plain-text part")
    else:
        for href in dict.fromkeys(link["href"] for link in scan.links):
            if href.startswith(("http://", "https://", "mailto:")) and href not in text:
                problems.append(f"the plain-text part lacks the link {href}")
    return problems


def check_email(email: Any) -> list[str]:
    """The accessibility problems of a rendered email (see the module docstring).

    Parameters
    ----------
    email : Email
        Anything with ``html`` and ``text`` attributes
        (:class:`~workbench.content.render.Email`).

    Returns
    -------
    list of str
        One plain line per problem; empty when none is found.
    """
    return check_html(str(email.html), getattr(email, "text", None))
