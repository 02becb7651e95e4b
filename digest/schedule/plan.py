"""What ``digest run`` would do now (``--dry-run``): read the inbox and the store, change nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from digest.config import Config
from digest.listings.formats import parse_listing
from digest.listings.inbox import read_listing
from digest.listings.ingest import ingest_context
from digest.mail.weekly import waiting_weekly_readers
from digest.pipeline import pending_digest
from digest.store import Store


@dataclass(frozen=True, slots=True)
class RunPlan:
    """What ``digest run`` would do now (for --dry-run); nothing is written."""

    dumps: list[tuple[str, str, int]]  # (file, "ingest" or the reason it would be rejected, new papers)
    new_papers: int  # papers a digest would hold
    digests_to_send: int
    active_subscribers: int
    weekly_readers: int = 0  # weekly readers whose mail a run now would queue (their week is due)
    weekly_open: int = 0  # weekly mails queued earlier and not sent yet


def plan_run(store: Store, config: Config, *, now: dt.datetime) -> RunPlan:
    from digest.errors import DumpError
    from digest.listings.diff import diff_dump, identify
    from digest.listings.inbox import scan_inbox
    from digest.listings.ingest import order_pending, waiting_result

    context = ingest_context(config, now)
    processed = store.history.processed_files()
    scan = scan_inbox(config.inbox, processed, now=now, settle=config.inbox_settle)
    files = order_pending(scan.ready, context)
    seen_keys: dict[str, int] = {}
    dumps = [(file.name, f"wait to settle ({waiting_result(file, context).reason})", 0) for file in scan.waiting]
    new_total = 0
    for file in files:
        if file.problem is not None:
            dumps.append((file.name, f"reject: {file.problem}", 0))
            continue
        try:
            dump = parse_listing(read_listing(file.path), today=context.today)
        except (DumpError, OSError) as exc:
            dumps.append((file.name, f"reject: {getattr(exc, 'message', exc)}", 0))
            continue
        if store.history.dump_by_hash(dump.sha256) is not None:
            dumps.append((file.name, "duplicate", 0))
            continue
        identified = identify(dump.papers)
        known = store.history.known_title_keys(item.key for item in identified)
        diff = diff_dump(
            identified,
            known_keys={**known, **seen_keys},
            known_fingerprints=store.history.known_fingerprints(item.fingerprint for item in identified),
            known_ids=store.history.known_arxiv_ids(item.arxiv_id for item in identified),
        )
        seen_keys.update((entry.key, 0) for entry in diff.new)
        dumps.append((file.name, "ingest", len(diff.new)))
        new_total += len(diff.new)
    pending = pending_digest(store, now)
    new_digest = bool(pending or new_total)
    active = store.subscribers.counts().get("active", 0)
    # What run_once would send: digests with work left, a digest it would publish, and the latest
    # digest for subscribers who never had one (a digest it publishes reaches them anyway).
    to_send = set(store.digests.to_send()) if active else set()
    latest = store.digests.latest_id()
    if latest is not None and not new_digest and store.ledger.newcomers():
        to_send.add(latest)
    if not active:  # nobody to send to: a digest with no open deliveries is simply marked done
        to_send = {digest for digest in store.digests.to_send() if store.ledger.counts(digest).open}
    return RunPlan(
        dumps=dumps,
        new_papers=new_total + (pending.new_count if pending else 0),
        digests_to_send=len(to_send) + (1 if new_digest and active else 0),
        active_subscribers=active,
        weekly_readers=waiting_weekly_readers(store, config, now),
        weekly_open=sum(store.weeks.counts(group.week, group.key).open for group in store.weekly.open_groups()),
    )
