"""Votes that wait for their paper: a like or dislike named by arXiv id, or by a title the history did not
hold yet, joins its paper when a listing brings it."""

from __future__ import annotations

from digest.store.migrations.migration import Migration

# A waiting vote's key names what it waits for: "arxiv:<id>" or "title:<title key>" (6 characters, then the name).
_CANONICAL = (
    "CASE WHEN votes.arxiv_id IS NOT NULL THEN 'arxiv:' || votes.arxiv_id"
    " ELSE 'paper:' || CAST(votes.paper_id AS TEXT) END"
)

MIGRATIONS = (
    Migration(
        19,
        "votes: waiting votes are found by what they name, and those whose paper was listed meanwhile join it",
        (
            "CREATE INDEX votes_waiting ON votes (paper_key) WHERE paper_id IS NULL",
            "UPDATE votes SET paper_id = (SELECT p.id FROM papers p WHERE p.arxiv_id = SUBSTR(votes.paper_key, 7))"
            " WHERE paper_id IS NULL AND paper_key LIKE 'arxiv:%'"
            " AND EXISTS (SELECT 1 FROM papers p WHERE p.arxiv_id = SUBSTR(votes.paper_key, 7))",
            "UPDATE votes SET paper_id = (SELECT k.paper_id FROM title_keys k WHERE k.key = SUBSTR(votes.paper_key, 7))"
            " WHERE paper_id IS NULL AND paper_key LIKE 'title:%'"
            " AND EXISTS (SELECT 1 FROM title_keys k WHERE k.key = SUBSTR(votes.paper_key, 7))",
            "UPDATE votes SET title = (SELECT p.title FROM papers p WHERE p.id = votes.paper_id),"
            " abstract = (SELECT p.abstract FROM papers p WHERE p.id = votes.paper_id),"
            " arxiv_id = (SELECT p.arxiv_id FROM papers p WHERE p.id = votes.paper_id)"
            " WHERE paper_id IS NOT NULL AND abstract = ''",
            f"UPDATE votes SET paper_key = {_CANONICAL}"
            " WHERE paper_id IS NOT NULL AND paper_key LIKE 'title:%' AND NOT EXISTS (SELECT 1 FROM votes other"
            f" WHERE other.subscriber_id = votes.subscriber_id AND other.paper_key = {_CANONICAL})",
        ),
    ),
)
