"""digest: a daily research-paper digest generator.

The library comes first; ``digest.cli`` is a thin layer over it. One package per stage of the flow,
each importing only the base, the store and the stages below it:

- the base, used by all and using no stage: ``models`` (values), ``errors``, ``config/`` (schedule.yaml
  and the environment), ``files`` (atomic writes), ``cron`` and ``weekly`` (crontab and week maths),
  ``tokens`` (signed links), ``subscribers`` (addresses and interest terms);
- ``store/``: the only SQL (SQLite and PostgreSQL);
- ``listings/`` -> ``ranking/`` -> ``site/`` -> ``mail/``: papers in, ordered and summarised, published,
  mailed;
- ``pipeline``: one pass over the stages; ``schedule/``: when it runs, one at a time;
- ``web/`` and ``cli/``: the two faces, over the pipeline and the stages.
"""

__version__ = "0.1.0"
