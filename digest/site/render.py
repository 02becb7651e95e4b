"""Rendering: one jinja2 Environment for the email (HTML and text) and the archive pages.

Pure: values in, strings out. Templates come from the user's folder (the
``templates`` key) first, then the bundled ``templates/``. HTML templates are
autoescaped and every undefined name is an error.

The email's CSS is written once in a ``<style>`` block and inlined with
premailer once per digest (:mod:`digest.mail.blocks` cuts the result into the
blocks every reader's mail is assembled from).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote_plus

import jinja2

from digest.config import EmailConfig, SiteConfig
from digest.errors import ConfigError
from digest.listings.compose import excerpt
from digest.models import Digest, StoredPaper, Topic
from digest.ranking.summarise import SummarySource, summary
from digest.site import EMAIL_HTML_BUDGET as EMAIL_HTML_BUDGET  # (where it was)
from digest.site.chart import IndexEntry, chart
from digest.site.markers import BlockMarkers, finalize
from digest.site.tex import title_text

log = logging.getLogger(__name__)

BUNDLED_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
EXCERPT_CHARS = 300
#: Papers on one archive page; a larger digest's page links to its next pages (``SLUG-p2.html``...).
PAGE_PAPERS = 500
TEXT_WIDTH = 72
#: Links longer than this are left to the archive page (they would break a phone's layout).
MAX_BADGE_URL = 300
#: How many premailer calls this process made (the render benchmark reports it).
premailer_calls = 0


@dataclass(frozen=True, slots=True)
class PaperView:
    id: int
    anchor: str
    title: str
    abstract: str
    excerpt: str
    truncated: bool
    tldr: str  # the listing's own summary, else the abstract's sentence that states the idea
    tldr_source: SummarySource  # "listing" or "abstract"
    url: str  # the paper's entry in the web archive
    arxiv_url: str  # a title search on arXiv, shown only when the paper's id is not known
    abs_url: str | None  # the paper's arXiv page, when its id is known
    pdf_url: str | None
    authors_text: str  # "A, B, C et al."; "" when unknown
    upvotes: int | None
    code_url: str | None
    code_label: str | None
    links: tuple[tuple[str, str], ...]  # (url, kind)
    first_seen: dt.date


@dataclass(frozen=True, slots=True)
class DigestView:
    title: str  # the site's name
    slug: str
    date: dt.date
    date_text: str
    new_count: int
    seen_before: int
    dump_dates: tuple[dt.date, ...]
    papers: tuple[PaperView, ...]
    archive_url: str
    feed_url: str
    home_url: str


def long_date(day: dt.date) -> str:
    return f"{day:%A}, {day.day} {day:%B %Y}"


def archive_url(site: SiteConfig, slug: str) -> str:
    return f"{site.url}archive/{slug}.html"


def page_slug(slug: str, page: int) -> str:
    """The name of a digest's archive page (numbered from 0): the first is the digest's own."""
    return slug if page == 0 else f"{slug}-p{page + 1}"


def paper_url(site: SiteConfig, slug: str, index: int, paper_id: int) -> str:
    """A paper's entry in the archive: on the page that holds the digest's paper ``index``."""
    return f"{archive_url(site, page_slug(slug, index // PAGE_PAPERS))}#paper-{paper_id}"


def paper_view(paper: StoredPaper, *, site: SiteConfig, slug: str, index: int = 0) -> PaperView:
    cut = excerpt(paper.abstract, EXCERPT_CHARS)
    short = summary(paper.title, paper.abstract, paper.details.summary)
    code = next((link.url for link in paper.links if link.kind == "code" and len(link.url) <= MAX_BADGE_URL), None)
    return PaperView(
        id=paper.id,
        anchor=f"paper-{paper.id}",
        title=title_text(paper.title),
        abstract=paper.abstract,
        excerpt=cut,
        truncated=cut != paper.abstract,
        tldr=short.text,
        tldr_source=short.source,
        url=paper_url(site, slug, index, paper.id),
        arxiv_url="https://arxiv.org/search/?searchtype=title&query=" + quote_plus(paper.title[:200]),
        abs_url=paper.details.abs_url,
        pdf_url=paper.details.pdf_url,
        authors_text=authors_text(paper.details.authors),
        upvotes=paper.details.upvotes,
        code_url=code,
        code_label=_code_label(code) if code else None,
        links=tuple((link.url, link.kind) for link in paper.links),
        first_seen=paper.first_seen_on,
    )


def authors_text(authors: Sequence[str], shown: int = 3) -> str:
    """ "A, B, C et al." (the first ``shown`` names); all of them when there are no more."""
    if len(authors) <= shown:
        return ", ".join(authors)
    return ", ".join(authors[:shown]) + " et al."


def _code_label(url: str) -> str:
    host = url.split("://", 1)[-1].split("/", 1)[0].removeprefix("www.")
    return {"github.com": "GitHub", "gitlab.com": "GitLab", "huggingface.co": "Hugging Face"}.get(host, "Code")


def digest_view(digest: Digest, site: SiteConfig, indexes: Sequence[int] | None = None) -> DigestView:
    """The digest as the templates see it: with the views of its papers (of those at ``indexes`` only)."""
    chosen = range(len(digest.papers)) if indexes is None else indexes
    return DigestView(
        title=site.title,
        slug=digest.slug,
        date=digest.date,
        date_text=f"The week to {long_date(digest.date)}" if digest.weekly else long_date(digest.date),
        new_count=digest.new_count,
        seen_before=digest.seen_before,
        dump_dates=digest.dump_dates,
        papers=tuple(paper_view(digest.papers[i], site=site, slug=digest.slug, index=i) for i in chosen),
        archive_url=archive_url(site, digest.slug),
        feed_url=f"{site.url}feed.xml",
        home_url=site.url,
    )


def wrap_text(text: str, width: int = TEXT_WIDTH, indent: str = "", first: str | None = None) -> str:
    """Wrap at ``width`` columns (``first`` starts the first line); long URLs stay whole on their own line."""
    return textwrap.fill(
        " ".join(text.split()),
        width=width,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith((".html", ".html.j2", ".xml.j2"))


class InlineCache(Protocol):
    """Inlined documents by the SHA-256 of the document before inlining (the same input, the same output)."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, html: str) -> None: ...


class Renderer:
    """The one jinja2 Environment, and what is rendered with it."""

    def __init__(
        self,
        site: SiteConfig,
        email: EmailConfig,
        user_templates: Path | None = None,
        *,
        inline_cache: InlineCache | None = None,
    ) -> None:
        self.site = site
        self.email = email
        self.inline_cache = inline_cache
        self.search_path = [*([user_templates] if user_templates else []), BUNDLED_TEMPLATES]
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(path)) for path in self.search_path]),
            autoescape=_autoescape,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            extensions=[BlockMarkers],
            finalize=finalize,
        )
        self.env.filters["wrap"] = wrap_text
        self.env.filters["long_date"] = long_date
        self.env.filters["ljust"] = str.ljust
        self.env.filters["title_text"] = title_text
        self.env.globals["site"] = site

    def render(self, name: str, **context: object) -> str:
        try:
            template = self.env.get_template(name)
        except jinja2.TemplateNotFound:
            searched = ", ".join(str(path) for path in self.search_path)
            raise ConfigError(
                "templates",
                name,
                f"template not found (searched {searched})",
                hint="restore the bundled templates/ folder or add the file to your own",
            ) from None
        return template.render(**context)

    def inlined(self, document: str) -> str:
        """``document`` with its CSS inlined: from the cache when this very document was inlined before."""
        if self.inline_cache is None:
            return inline_css(document)
        key = hashlib.sha256(document.encode("utf-8")).hexdigest()
        html_text = self.inline_cache.get(key)
        if html_text is None:
            html_text = inline_css(document)
            self.inline_cache.put(key, html_text)
        return html_text

    # -- the archive ---------------------------------------------------------------------

    def digest_page(self, digest: Digest, topics: Sequence[Topic]) -> str:
        """The (first) archive page of a digest."""
        return next(self.each_digest_page(digest, topics))[1]

    def digest_pages(self, digest: Digest, topics: Sequence[Topic]) -> dict[str, str]:
        """The archive pages, by slug: every paper in full, :data:`PAGE_PAPERS` a page in the listing's order,
        each page's grouped by the topics its mail used; one page unless the digest is larger."""
        return dict(self.each_digest_page(digest, topics))

    def each_digest_page(self, digest: Digest, topics: Sequence[Topic]) -> Iterator[tuple[str, str]]:
        """:meth:`digest_pages` one at a time (a large digest's pages need not all be held as text at once)."""
        count = max(1, -(-len(digest.papers) // PAGE_PAPERS))
        links = [(number + 1, f"{page_slug(digest.slug, number)}.html") for number in range(count)]  # relative
        for number in range(count):
            on_page = range(number * PAGE_PAPERS, min(len(digest.papers), (number + 1) * PAGE_PAPERS))
            view = digest_view(digest, self.site, on_page)
            view = dataclasses.replace(view, archive_url=archive_url(self.site, page_slug(digest.slug, number)))
            by_index = dict(zip(on_page, view.papers, strict=True))
            groups = [(topic, [by_index[i] for i in topic.members if i in by_index]) for topic in topics]
            groups = [(topic, papers) for topic, papers in groups if papers]
            yield (
                page_slug(digest.slug, number),
                self.render(
                    "digest.html.j2", digest=view, groups=groups, pages=links if count > 1 else [], page=number + 1
                ),
            )

    def index_page(self, digests: Sequence[IndexEntry], weeks: Sequence[IndexEntry] = ()) -> str:
        return self.render(
            "index.html.j2", digests=digests, weeks=weeks, chart=chart(digests), feed_url=f"{self.site.url}feed.xml"
        )


def inline_css(document: str) -> str:
    """Inline the ``<style>`` block's rules into the elements (media queries stay in a block)."""
    from premailer import Premailer

    global premailer_calls
    premailer_calls += 1
    return str(
        Premailer(
            document,
            allow_network=False,
            strip_important=False,
            keep_style_tags=False,
            remove_classes=False,
            disable_validation=True,
            cssutils_logging_level=logging.CRITICAL,
        ).transform(pretty_print=False)
    )
