"""Dynamic content: one email per segment, assembled from a library of block variants.

- :mod:`~workbench.content.blocks` -- the variant library (``blocks.toml``): six blocks (subject
  line, preheader, hero, call to action, proof row, recommendations), their variants and the
  conditions each suits (test arms, content and product categories, lifecycle stages);
- :mod:`~workbench.content.choose` -- :func:`choose_content`: the variant of every block for every
  segment, from the segment's test winners (with their certainty), its content affinity and its
  lifecycle stage, with the reason in one sentence;
- :mod:`~workbench.content.render` -- :func:`render_email`: the HTML part and the plain-text part
  of a segment's email (Jinja2 templates, one block each);
- :mod:`~workbench.content.accessibility` -- :func:`check_email`: alt text, link text, language,
  title and the plain-text part;
- :mod:`~workbench.content.compose` -- :func:`compose`: previews, the per-subscriber mapping an
  ESP imports and an index page, written atomically (the ``workbench compose`` verb);
- :mod:`~workbench.content.widgets` -- the previews side by side with the reasons, and an
  explorer of one segment's email and send window.
"""

from workbench.content.accessibility import check_email
from workbench.content.blocks import BLOCKS, Catalogue, load_catalogue
from workbench.content.choose import choose_content, leading_arms
from workbench.content.compose import ComposeResult, compose, preview_emails, read_segments
from workbench.content.render import Email, render_email
from workbench.content.widgets import email_explorer, side_by_side

__all__ = [
    "BLOCKS",
    "Catalogue",
    "ComposeResult",
    "Email",
    "check_email",
    "choose_content",
    "compose",
    "email_explorer",
    "load_catalogue",
    "preview_emails",
    "read_segments",
    "render_email",
    "side_by_side",
    "leading_arms",
]
