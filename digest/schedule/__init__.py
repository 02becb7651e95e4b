"""Schedule: when the one pass runs, and only one at a time.

What it does: the long-running scheduler over APScheduler 3 (``scheduler``), the run lock that keeps two
runs from overlapping (``lock``), what ``digest run --dry-run`` would do now (``plan``), and the scheduler's
log lines (``log``).

Takes in: the config and :mod:`digest.pipeline`'s one pass. Hands on: runs, their reports and log lines.
May import: the base, the store, every stage below it and :mod:`digest.pipeline`; not web or cli.
"""
