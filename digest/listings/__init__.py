"""Listings: the stage where papers come in.

What it does: fetch listings from their sources into the inbox, read each file by its format (a text dump,
a daily-papers JSON listing, an RSS or Atom feed), tell which papers are new against the history, record
them, and compose the digest of everything new since the last one.

- ``formats/``: one parser per format, and the detection of a file's format by its content (pure);
- ``identity``: arXiv ids, title keys and abstract fingerprints, hard-wrapped lines joined (pure);
  ``references``: a paper a reader names by title, arXiv id or URL (pure);
- ``diff``: which papers of a listing are new (pure); ``compose``: the digest of the new papers (pure);
- ``inbox``: the files waiting and the rejected folder; ``sources``: fetching URLs (httpx);
  ``ingest``: files in, parsed, diffed and recorded in the history.

Takes in: files and URLs, the config, the store. Hands on: papers in the history, :class:`~digest.models.Digest`.
May import: the base (models, errors, config, files, weekly, tokens, subscribers) and the store; no other stage.
"""
