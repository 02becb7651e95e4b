"""Commands that render: publish the archive and feeds, preview the email."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from digest.cli.env import Environment, config_from, counted, existing_signing_key, store_for
from digest.cli.parsing import CommandFactory, Parser, digest_arg
from digest.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    from digest.models import Digest


def cmd_publish(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.pipeline import publish

    config = config_from(args, env)
    now = env.clock()
    with store_for(config, now) as store:
        result = publish(store, config, now=now, rebuild=args.rebuild)
    if env.is_interactive or args.verbose:
        if result.digest is None:
            env.out("nothing new since the last digest; archive and feeds refreshed")
        else:
            page = config.site.dir / "archive" / f"{result.digest.slug}.html"
            env.out(f"published {result.digest.slug}: {counted(result.digest.new_count, 'new paper')} ({page})")
        env.out(f"{len(result.written)} site files written in {config.site.dir}")
    return ExitStatus.OK


def cmd_preview(args: argparse.Namespace, env: Environment) -> ExitStatus:
    import email
    import email.policy

    from digest.listings.compose import standalone_digest
    from digest.listings.formats import parse_listing
    from digest.listings.inbox import read_listing
    from digest.mail.mailer import Mailer
    from digest.mail.outbox import local_line_ends
    from digest.models import EMPTY_PROFILE, Subscriber
    from digest.pipeline import pending_digest, renderer_for
    from digest.ranking.grouping import compute_topics, topics_of
    from digest.ranking.kept import ranker_for
    from digest.ranking.topics import digest_topics
    from digest.tokens import secret_key

    config = config_from(args, env)
    now = env.clock()
    digest: Digest | None
    reader = Subscriber(id=1, email="subscriber@example.org", status="active")
    profile = EMPTY_PROFILE
    signing = existing_signing_key(env, config) if args.subscriber else None
    # Links work in a real reader's preview signed with the real key; otherwise they are placeholders.
    preview_key = signing or secret_key(value="preview-" * 8)
    if args.dump:
        if args.subscriber:
            raise UsageError("--subscriber needs the history", hint="leave out --dump")
        today = now.astimezone(config.timezone).date()
        digest = standalone_digest(parse_listing(read_listing(Path(args.dump)), today=today), today=today, now=now)
        topics = digest_topics(digest.papers)
        ranker = ranker_for(None, digest, now=now)
        mailer = Mailer(digest, config, renderer_for(config), now, local_line_ends, topics=topics, ranker=ranker)
        mailer.warm(None, [profile])
        ranking = mailer.rank(reader, profile)
    else:
        with store_for(config, now) as store:
            if args.subscriber:
                from digest.cli.profiles import find_subscriber

                reader = find_subscriber(store, args.subscriber)
                profile = store.profiles.profile(reader)
            if reader.frequency == "weekly" and args.digest is None:
                from digest.mail.weekly import next_weekly

                digest = next_weekly(store, config, reader, now)
                if digest is None:
                    raise UsageError(
                        f"nothing waits for {reader.email}'s next weekly mail yet",
                        hint="preview a daily digest with --digest DATE",
                    )
            elif args.digest not in (None, "latest"):
                digest = store.digests.named(args.digest)
                if digest is None:
                    raise UsageError(f"there is no digest {args.digest}", hint="see 'digest status' for the latest")
            else:
                digest = store.digests.get() or pending_digest(store, now)
            if digest is None:
                hint = "run 'digest ingest' first, or use --dump FILE"
                raise UsageError("there is no digest to preview yet", hint=hint)
            kept = store if digest.id is not None else None  # a digest not yet published is not kept
            renderer = renderer_for(config, store=kept, now=now)
            topics = topics_of(store, digest) if digest.id is not None else compute_topics(store, digest)
            ranker = ranker_for(kept, digest, now=now)  # (kept for a published digest; a week's, made here)
            mailer = Mailer(digest, config, renderer, now, local_line_ends, topics=topics, ranker=ranker)
            mailer.warm(store, [profile])
            ranking = mailer.rank(reader, profile)
    personal = profile.personal
    bodies = mailer.bodies(reader, ranking, personal=personal, secret=preview_key)
    if bodies is None:
        raise UsageError(f"no paper of this digest passes {reader.email}'s filter: they get no mail for it")
    data = mailer.message(
        reader,
        ranking,
        personal=personal,
        secret=preview_key,
        message_id=f"preview.{digest.slug}@{config.email.list_id}",
    )
    assert data is not None
    message = email.message_from_bytes(data, policy=email.policy.default)
    out = Path(args.out) if args.out else config.preview
    out.mkdir(parents=True, exist_ok=True)
    html_part = message.get_body(("html",))
    text_part = message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    assert isinstance(html_part, email.message.EmailMessage) and isinstance(text_part, email.message.EmailMessage)
    paths = {
        "html": out / f"digest-{digest.slug}.html",
        "text": out / f"digest-{digest.slug}.txt",
        "eml": out / f"digest-{digest.slug}.eml",
    }
    paths["html"].write_text(html_part.get_content(), encoding="utf-8")
    paths["text"].write_text(text_part.get_content(), encoding="utf-8")
    paths["eml"].write_bytes(data)
    size = len(html_part.get_content().encode("utf-8"))
    env.out(f"subject: {message['Subject']}")
    env.out(f"papers:  {bodies.shown} in the mail of {digest.new_count} ({bodies.left_out} left to the archive link)")
    env.out(f"html:    {paths['html']} ({size / 1000:.1f} KB; Gmail clips above 102 KB)")
    env.out(f"text:    {paths['text']}")
    env.out(f"eml:     {paths['eml']}")
    if signing is not None:
        env.out(f"links:   {reader.email}'s own: they work (vote, preferences, unsubscribe), as in their mail")
    elif args.subscriber:
        env.out("links:   placeholders that answer 400: there is no signing key yet (see DIGEST_SECRET_KEY)")
    else:
        env.out("links:   placeholders that answer 400 (no real reader); --subscriber EMAIL gives working ones")
    return ExitStatus.OK


def register(command: CommandFactory, common: Parser) -> None:
    """Add this module's commands to the parser."""
    publish = command(
        "publish",
        cmd_publish,
        "Record the digest of everything new since the last one (if anything is new), then write or "
        "refresh the web archive and the feeds in site.dir.",
        "digest publish --verbose",
    )
    publish.add_argument("--rebuild", action="store_true", help="render every archive page again")

    preview = command(
        "preview",
        cmd_preview,
        "Write the digest email as .html, .txt and a complete .eml, and tell the HTML's size. "
        "By default the latest digest (or the one the next publish would send), as a reader without a profile"
        " gets it; --subscriber shows one reader's own mail (a weekly reader's: their next weekly mail).",
        "digest preview --dump inbox/2026-03-12.txt --out preview/",
    )
    source = preview.add_mutually_exclusive_group()
    source.add_argument("--dump", metavar="FILE", help="preview one dump file, every paper as new")
    source.add_argument("--latest", action="store_true", help="preview the latest digest (the default)")
    source.add_argument("--digest", type=digest_arg, metavar="DATE", help="preview a published digest: its date")
    preview.add_argument("--out", metavar="DIR", help="where to write (default: 'preview' in schedule.yaml)")
    preview.add_argument(
        "--subscriber", metavar="EMAIL", help="the mail this subscriber gets: ranked for their profile and filter"
    )
