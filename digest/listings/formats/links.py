"""The links in an abstract: code repositories and project pages. Pure."""

from __future__ import annotations

import re

from digest.models import Link, LinkKind

CODE_HOSTS = frozenset({"github.com", "gitlab.com", "huggingface.co"})
_URL = re.compile(r"""(?:https?://|www\.)[^\s<>"'`]+""", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?'\"*"
_BRACKETS = {")": "(", "]": "[", "}": "{"}


def find_links(text: str) -> tuple[Link, ...]:
    """The URLs in a text, in order, without duplicates or trailing punctuation."""
    if "://" not in text and "www." not in text and "WWW." not in text:
        return ()  # most abstracts have no link: skip the expression
    links: list[Link] = []
    seen: set[str] = set()
    for match in _URL.finditer(text):
        url = _strip_trailing(match.group(0))
        if url.lower().startswith("www."):
            url = "https://" + url
        if url in seen or not _host(url):
            continue
        seen.add(url)
        links.append(Link(url=url, kind=_link_kind(url)))
    return tuple(links)


def _strip_trailing(url: str) -> str:
    while url:
        last = url[-1]
        if last in _TRAILING_PUNCTUATION or (last in _BRACKETS and url.count(last) > url.count(_BRACKETS[last])):
            url = url[:-1]
        else:
            break
    return url


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    return host.lower() if "." in host else ""


def _link_kind(url: str) -> LinkKind:
    host = _host(url).removeprefix("www.")
    return "code" if host in CODE_HOSTS else "project"
