"""The values that flow between the stages: frozen, typed, free of I/O."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

LinkKind = Literal["code", "project"]
IngestStatus = Literal["ingested", "duplicate", "rejected", "waiting"]


@dataclass(frozen=True, slots=True)
class Link:
    """A URL found in an abstract: a code repository or a project page."""

    url: str
    kind: LinkKind


@dataclass(frozen=True, slots=True)
class PaperDetails:
    """What a listing may say of a paper beyond its title and abstract (text dumps say none of it)."""

    arxiv_id: str | None = None  # canonical: "2403.01234" or "hep-th/9901001", no version
    authors: tuple[str, ...] = ()
    upvotes: int | None = None
    summary: str | None = None  # a summary the source provides

    @property
    def abs_url(self) -> str | None:
        return f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else None

    @property
    def pdf_url(self) -> str | None:
        return f"https://arxiv.org/pdf/{self.arxiv_id}" if self.arxiv_id else None


NO_DETAILS = PaperDetails()


@dataclass(frozen=True, slots=True)
class Paper:
    """One entry of a dump, as listed."""

    title: str
    abstract: str
    rank: int  # 1-based position in the dump
    line: int  # line number of the title in the dump (of the item, in other formats)
    links: tuple[Link, ...] = ()
    details: PaperDetails = NO_DETAILS

    @property
    def code_links(self) -> tuple[Link, ...]:
        return tuple(link for link in self.links if link.kind == "code")


@dataclass(frozen=True, slots=True)
class Dump:
    """A parsed listing (any format): its content hash, its own date if it has one, its papers."""

    sha256: str
    listed_on: dt.date | None
    papers: tuple[Paper, ...]
    skipped: tuple[str, ...] = ()  # items left out, each with why (a missing title or abstract)


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What ingesting one file did; one JSON line of ``digest ingest --json``."""

    file: str
    sha256: str | None
    date: dt.date | None
    status: IngestStatus
    reason: str | None = None
    papers: int = 0
    new: int = 0
    new_titles: tuple[str, ...] = field(default=())
    set_aside: bool = False  # a rejected file was moved (or copied) to the rejected folder

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "date": self.date.isoformat() if self.date else None,
            "status": self.status,
            "reason": self.reason,
            "papers": self.papers,
            "new": self.new,
            "new_titles": list(self.new_titles),
        }


@dataclass(frozen=True, slots=True)
class DiffEntry:
    """One distinct paper of a dump and what the history knows of it (see :mod:`digest.listings.diff`)."""

    paper: Paper
    key: str
    fingerprint: str | None
    known_id: int | None  # the history's paper id, or None when the paper is new
    revised: bool = False  # known by its abstract under another title

    @property
    def is_new(self) -> bool:
        return self.known_id is None


@dataclass(frozen=True, slots=True)
class DumpDiff:
    entries: tuple[DiffEntry, ...]  # distinct papers, in rank order

    @property
    def new(self) -> tuple[DiffEntry, ...]:
        return tuple(entry for entry in self.entries if entry.is_new)

    @property
    def revised(self) -> tuple[DiffEntry, ...]:
        return tuple(entry for entry in self.entries if entry.revised)


@dataclass(frozen=True, slots=True)
class StoredPaper:
    """A paper as the history knows it."""

    id: int
    title: str
    abstract: str
    links: tuple[Link, ...]
    first_dump_id: int
    first_rank: int
    first_seen_on: dt.date
    first_seen_at: dt.datetime
    details: PaperDetails = NO_DETAILS


@dataclass(frozen=True, slots=True)
class DumpRecord:
    """A dump as the history recorded it."""

    id: int
    sha256: str
    file_name: str
    listed_on: dt.date | None
    dump_date: dt.date
    ingested_at: dt.datetime
    status: str
    reason: str | None
    paper_count: int
    new_count: int


@dataclass(frozen=True, slots=True)
class Digest:
    """Everything first seen since the previous digest, in listing order."""

    slug: str  # the archive page's name, e.g. "2026-03-14"
    date: dt.date  # the newest dump's date
    papers: tuple[StoredPaper, ...]
    seen_before: int  # papers the covered dumps list again that an earlier digest held
    dump_dates: tuple[dt.date, ...]
    first_dump_id: int
    last_dump_id: int
    published_at: dt.datetime
    id: int | None = None  # None until the store records it
    weekly: bool = False  # a week's digests as one (a weekly reader's mail, a week's archive page)

    @property
    def new_count(self) -> int:
        return len(self.papers)


Frequency = Literal["daily", "weekly"]
VoteKind = Literal["like", "dislike"]


@dataclass(frozen=True, slots=True)
class VotedPaper:
    """A paper a reader liked or disliked: from the history, or kept with its own text when not in it."""

    title: str
    abstract: str = ""
    paper_id: int | None = None  # the history's paper, when it is known there
    arxiv_id: str | None = None

    @property
    def text_key(self) -> str:
        return f"{self.paper_id}" if self.paper_id is not None else f"{self.arxiv_id}:{self.title}:{len(self.abstract)}"


@dataclass(frozen=True, slots=True)
class PaperRef:
    """A paper a reader named: by arXiv id, or by title (see :mod:`digest.listings.references`)."""

    text: str  # as given, whitespace normalised
    arxiv_id: str | None
    title_key: str

    @property
    def key(self) -> str:
        """The vote's identity: the arXiv id when named, else the title key."""
        return f"arxiv:{self.arxiv_id}" if self.arxiv_id else f"title:{self.title_key}"


@dataclass(frozen=True, slots=True)
class Profile:
    """What a reader told us: interest terms (soft: they rank), votes, authors they follow and how often they
    want mail."""

    interests: tuple[str, ...] = ()
    likes: tuple[VotedPaper, ...] = ()
    dislikes: tuple[VotedPaper, ...] = ()
    frequency: Frequency = "daily"
    follows: tuple[str, ...] = ()  # authors' names as the reader wrote them (see digest.names)

    @property
    def is_empty(self) -> bool:
        """Nothing to score papers by (no interests, no votes): the listing's order, before followed authors."""
        return not (self.interests or self.likes or self.dislikes)

    @property
    def personal(self) -> bool:
        """Whether the reader's mail is theirs ("For you"), not the listing's ("Top papers")."""
        return not self.is_empty or bool(self.follows)


EMPTY_PROFILE = Profile()

SubscriberStatus = Literal["pending", "active", "unsubscribed", "bounced"]


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: int
    email: str
    status: SubscriberStatus
    include: tuple[str, ...] = ()  # interest terms: a paper must match one of them
    exclude: tuple[str, ...] = ()  # a paper matching any of them is left out
    bounces: int = 0
    interests: tuple[str, ...] = ()  # soft: they rank, never filter
    frequency: Frequency = "daily"
    created_at: dt.datetime | None = None
    confirmed_at: dt.datetime | None = None
    unsubscribed_at: dt.datetime | None = None

    @property
    def filter_key(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return (self.include, self.exclude)


@dataclass(frozen=True, slots=True)
class Topic:
    """A group of a digest's papers and its label (see :mod:`digest.ranking.topics`)."""

    label: str  # "retrieval, rag, queries"
    members: tuple[int, ...]  # indexes into the papers given, in listing order

    @property
    def anchor(self) -> str:
        return "topic-" + "-".join("".join(ch for ch in word if ch.isalnum()) for word in self.label.split(", "))
