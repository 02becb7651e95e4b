"""``digest subscribers import`` and ``export``: subscribers and their whole profile as CSV.

Columns: ``email``, ``status``, ``include``, ``exclude`` (comma-separated hard
filters), ``interests`` (comma-separated soft terms), ``frequency`` (daily or
weekly), ``likes`` and ``dislikes`` (one paper a line inside the cell: an arXiv
id as ``arXiv:2403.01234``, else a title), ``follows`` (one author's name a line)
and ``created_at``. Import reads
what export writes; a profile column given for a row replaces that part of
the profile, a column left out keeps it.

Cells are hostile both ways: export writes a cell that a spreadsheet would run
as a formula (``=``, ``+``, ``-``, ``@``...) after a ``'``, and import takes it off
again. Import reads UTF-8 only, refuses a row with a control character, a cell
too long or terms past the limit (its line is named; the rest is imported), and
records a thousand rows per transaction.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from digest.cli.env import Environment, config_from, counted, send_confirmation_to, signing_key, store_for
from digest.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    from digest.models import PaperRef, SubscriberStatus, VotedPaper, VoteKind
    from digest.store.imports import ImportRow

COLUMNS = (
    "email", "status", "include", "exclude", "interests", "frequency", "likes", "dislikes", "follows", "created_at"
)  # fmt: skip


VOTE_COLUMNS = ("likes", "dislikes", "follows")  # one paper (or name) a line: the only cells that may hold breaks
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


class RowError(ValueError):
    """A row that cannot be imported; the message says what is wrong with which column."""


def cmd_subscribers_import(args: argparse.Namespace, env: Environment) -> ExitStatus:
    config = config_from(args, env)
    now = env.clock()
    path = Path(args.file)
    rows, bad = _read_rows(path, env, pending=args.pending)
    added = updated = 0
    secret = signing_key(env, config) if args.pending else None
    with store_for(config, now) as store:
        for batch in _batches(rows):
            with store.transaction(exclusive=True):
                done = store.imports.apply(batch, now=now, vote_key=_vote_key)
            profiled = [imported.subscriber for row, imported in zip(batch, done, strict=True) if _ranked(row)]
            if profiled:
                from digest.ranking.kept import keep_readers

                keep_readers(store, profiled, now=now)  # (a mail may be queued for them)
            for imported in done:
                if args.pending and imported.subscriber.status == "pending":
                    send_confirmation_to(config, imported.subscriber, secret, now)
                added += imported.created
                updated += not imported.created
    if env.is_interactive or args.verbose:
        env.out(f"imported {added} new and {updated} known addresses; {counted(bad, 'row')} skipped")
    return ExitStatus.PARTIAL if bad else ExitStatus.OK


def _ranked(row: ImportRow) -> bool:
    """Whether the row changes what the reader's ranking needs (their interests or votes)."""
    return row.interests is not None or bool(row.votes)  # (follows need no ranking rows)


def _vote_key(paper: VotedPaper, ref: PaperRef) -> str:
    from digest.listings.references import vote_key

    return vote_key(paper, ref)


def _read_rows(path: Path, env: Environment, *, pending: bool) -> tuple[list[ImportRow], int]:
    """The file's good rows; each bad one is reported with its line number (and counted)."""
    from digest.names import FollowError
    from digest.subscribers import AddressError, TermsError, normalise_address

    text = _utf8_text(path)
    csv.field_size_limit(MAX_CELL)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fields = [name.strip().lower() for name in reader.fieldnames or []]
    except csv.Error as exc:
        raise UsageError(f"{path}: line 1: {exc}", hint=HEADER_HINT) from None
    if "email" not in fields:
        raise UsageError(f"{path}: the first line must name the columns, with an 'email' column", hint=HEADER_HINT)
    reader.fieldnames = fields
    unknown = set(fields) - set(COLUMNS)
    if unknown:
        raise UsageError(f"{path}: unknown columns {', '.join(sorted(unknown))} (use {', '.join(COLUMNS)})")
    rows: list[ImportRow] = []
    bad = 0
    ended = 1  # the line the last row read ended on
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            env.err(f"{path}:{ended + 1}: {_csv_problem(exc)}; row skipped")
            bad += 1
            continue
        ended = reader.line_num
        line = ended - sum(value.count("\n") for value in row.values() if isinstance(value, str))  # its first line
        try:
            rows.append(_import_row(row, normalise_address, pending=pending))
        except (AddressError, TermsError, FollowError) as exc:
            env.err(f"{path}:{line}: {exc.message}; row skipped")
            bad += 1
        except RowError as exc:
            env.err(f"{path}:{line}: {exc}; row skipped")
            bad += 1
    return rows, bad


#: A cell longer than this is refused (a reader's likes, one paper a line, fit many times over).
MAX_CELL = 1_000_000
HEADER_HINT = "e.g. email,include,exclude,interests,frequency,likes,dislikes"
#: Rows recorded per transaction.
BATCH = 1000


def _utf8_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UsageError(f"{path}: not UTF-8 (it is UTF-16)", hint="save it as UTF-8 (CSV UTF-8) and import it again")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(
            f"{path}: not UTF-8 (byte 0x{data[exc.start]:02x} on line {line})",
            hint="save it as UTF-8 (CSV UTF-8) and import it again",
        ) from None


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a cell is longer than {MAX_CELL:,} characters"
    return f"not readable as CSV ({text})"


def _batches(rows: list[ImportRow]) -> Iterator[list[ImportRow]]:
    """Batches of rows, each naming an address once (a second row for it starts the next batch, and wins)."""
    batch: list[ImportRow] = []
    seen: set[str] = set()
    for row in rows:
        if len(batch) == BATCH or row.email in seen:
            yield batch
            batch, seen = [], set()
        batch.append(row)
        seen.add(row.email)
    if batch:
        yield batch


def _import_row(row: dict[str, str | None], normalise_address: Callable[[str], str], *, pending: bool) -> ImportRow:
    from digest.store.imports import ImportRow
    from digest.subscribers import checked_terms, csv_value

    cells = {name: (csv_value(value) if isinstance(value, str) else None) for name, value in row.items() if name}
    for name, value in cells.items():
        if value is not None and _CONTROL.search(value.replace("\r\n", "\n") if name in VOTE_COLUMNS else value):
            raise RowError(f"column {name} holds a NUL or another control character")
    address = normalise_address(cells.get("email") or "")
    frequency = (cells.get("frequency") or "").strip().lower() or None
    if frequency not in (None, "daily", "weekly"):
        raise RowError(f"frequency {frequency!r} is not daily or weekly")
    exported = (cells.get("status") or "").strip().lower()
    status: SubscriberStatus = "pending" if pending else "active"
    if exported == "unsubscribed":  # an export never brings a leaver back
        status = "unsubscribed"
    elif exported == "bounced":
        status = "bounced"
    votes: dict[VoteKind, list[PaperRef]] = {}
    for kind, column in (("like", "likes"), ("dislike", "dislikes")):
        refs = _cell_refs(cells.get(column), column)
        if refs is not None:
            votes[kind] = refs  # type: ignore[index]
    interests = cells.get("interests")
    follows = cells.get("follows")
    return ImportRow(
        email=address,
        status=status,
        include=checked_terms(cells.get("include"), "include"),
        exclude=checked_terms(cells.get("exclude"), "exclude"),
        interests=checked_terms(interests) if interests is not None else None,
        frequency="daily" if frequency == "daily" else "weekly" if frequency == "weekly" else None,
        votes=votes or None,
        follows=_cell_names(follows) if follows is not None else None,
    )


def _cell_names(cell: str) -> tuple[str, ...]:
    """The authors' names of a follows cell, one a line (blank lines skipped), within the limit."""
    from digest.names import FollowError, checked_follows

    try:
        return checked_follows(line for line in cell.splitlines() if line.strip())
    except FollowError as exc:
        raise RowError(f"follows: {exc.message}") from None


def _cell_refs(cell: str | None, column: str) -> list[PaperRef] | None:
    """The papers of a likes/dislikes cell; None when the column is absent."""
    from digest.listings.references import read_refs

    if cell is None:
        return None
    refs, problems = read_refs(cell.splitlines())
    if problems:
        raise RowError(f"{column}: {problems[0]}")
    return [ref for _, ref in refs]


def cmd_subscribers_export(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.listings.references import export_ref
    from digest.subscribers import csv_cell

    config = config_from(args, env)
    with store_for(config, env.clock()) as store:
        writer = csv.writer(env.stdout, lineterminator="\n")
        writer.writerow(COLUMNS)
        for subscriber in store.subscribers.iter_all(status=args.status):
            votes = store.profiles.votes(subscriber.id)
            writer.writerow(
                csv_cell(cell)
                for cell in [
                    subscriber.email,
                    subscriber.status,
                    ", ".join(subscriber.include),
                    ", ".join(subscriber.exclude),
                    ", ".join(subscriber.interests),
                    subscriber.frequency,
                    "\n".join(export_ref(vote.paper) for vote in reversed(votes) if vote.kind == "like"),
                    "\n".join(export_ref(vote.paper) for vote in reversed(votes) if vote.kind == "dislike"),
                    "\n".join(store.follows.of(subscriber.id)),
                    subscriber.created_at.isoformat() if subscriber.created_at else "",
                ]
            )
    return ExitStatus.OK
