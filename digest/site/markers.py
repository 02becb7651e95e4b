"""What listing text may never write into a rendered email: the block markers, and control characters. Pure.

The email's templates mark their blocks with ``<!--digest:NAME-->`` comments (see :mod:`digest.mail.blocks`).
:class:`BlockMarkers` writes each marker with the nonce a render is given, so that the markers of a document
are ones no listing text can write; :func:`finalize` is the text templates' escaping (HTML templates
autoescape): a value is written without control characters or a comment opening.
"""

from __future__ import annotations

import re

import jinja2
import jinja2.ext
import jinja2.nodes
from markupsafe import Markup

_MARKER = re.compile(r"<!--(/?)digest:([a-z-]+)-->")
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class BlockMarkers(jinja2.ext.Extension):
    """Writes a template's ``<!--digest:NAME-->`` block markers with the nonce the render is given
    (``block_nonce``): the markers of the document are then ones no listing text can write (see
    :mod:`digest.mail.blocks`), while templates, bundled or the user's, keep the plain markers."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return _MARKER.sub(r"<!--\1digest:\2:{{ block_nonce }}-->", source)


@jinja2.pass_eval_context
def finalize(context: jinja2.nodes.EvalContext, value: object) -> object:
    """Text templates' escaping: a value is written without control characters or a comment opening, so that
    nothing it holds reads as a block marker (HTML templates autoescape instead)."""
    if context.autoescape or not isinstance(value, str) or isinstance(value, Markup):
        return value
    return _TEXT_CONTROLS.sub("", value).replace("<!--", "<!-\u200c-")
