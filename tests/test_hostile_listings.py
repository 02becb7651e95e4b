"""Hostile listings at ingest: control characters dropped, sizes bounded, a listing too large rejected."""

from __future__ import annotations

import json

from digest.errors import ExitStatus
from digest.listings.formats.bounds import MAX_BYTES, MAX_PAPERS

from conftest import Project


def item(number: int, title: str, summary: str | None = None, **extra: object) -> dict[str, object]:
    return {
        "id": f"2403.{number:05d}",
        "title": title,
        "summary": summary or f"We propose method number {number} for graphs, and it works well on benchmarks.",
        "publishedAt": "2026-11-21T06:00:00Z",
        **extra,
    }


def papers(project: Project) -> dict[str, dict[str, object]]:
    rows = map(json.loads, project.run("papers", "--json", "--limit", "500").lines)
    return {str(row["arxiv_id"]): row for row in rows}


def test_control_characters_nul_and_lone_surrogates_are_dropped_at_ingest(project: Project) -> None:
    raw = json.dumps(
        [
            item(
                1,
                "Graph\x00 Nets\u202e\u2066 for \x1b[31mColour\x85Codes",
                authors=[{"name": "Ada\x00 \ud800Lovelace"}],
            ),
            item(2, "A \x07bell and a \x9bCSI", "We propose\x00 a method\x0b that\x1f works \udfff well on graphs."),
            item(3, "\x00\x01\x02"),  # nothing left of its title: left out, the rest kept
            item(
                4, "\uff12\uff14\uff10\uff13 fullwidth id", id="\uff12\uff14\uff10\uff13.\uff10\uff11\uff12\uff13\uff14"
            ),
        ]
    )
    project.drop("", "listing.json", data=raw.encode())
    result = project.run("ingest")
    assert result.code == ExitStatus.OK, result.stderr
    found = papers(project)
    assert found["2403.00001"]["title"] == "Graph Nets for [31mColour Codes"
    assert found["2403.00001"]["authors"] == ["Ada Lovelace"]
    assert found["2403.00002"]["title"] == "A bell and a CSI"
    assert found["2403.00002"]["abstract"] == "We propose a method that works well on graphs."
    assert "2403.00003" not in found
    assert (
        "None" in found and found["None"]["title"] == "\uff12\uff14\uff10\uff13 fullwidth id"
    )  # an id must be ASCII digits


def test_an_oversized_title_or_abstract_leaves_that_paper_out_and_long_lists_are_cut(project: Project) -> None:
    raw = json.dumps(
        [
            item(1, "T" * 301),
            item(2, "Fine title", "We propose " + "word " * 3000),
            item(
                3,
                "Kept paper",
                authors=[{"name": f"Author {n} " + "x" * 300} for n in range(500)],
                ai_summary="s" * 5000,
                githubRepo="https://github.com/a/" + "b" * 3000,
            ),
        ]
    )
    project.drop("", "listing.json", data=raw.encode())
    result = project.run("ingest", "--json")
    assert result.code == ExitStatus.OK, result.stderr
    (row,) = map(json.loads, result.lines)
    assert row["status"] == "ingested" and row["new_titles"] == ["Kept paper"]
    assert "its title has 301 characters (at most 300)" in result.stderr
    assert "its abstract has 15,010 characters (at most 10,000)" in result.stderr
    kept = papers(project)["2403.00003"]
    assert len(kept["authors"]) == 100 and all(len(name) <= 200 for name in kept["authors"])  # type: ignore[union-attr]
    assert not kept["code"] and not kept["links"]


def test_a_listing_of_more_papers_than_the_limit_is_rejected_with_its_reason(project: Project) -> None:
    raw = json.dumps([item(n, f"Paper {n}", f"We propose method {n} for graphs today.") for n in range(MAX_PAPERS + 1)])
    project.drop("", "huge.json", data=raw.encode())
    result = project.run("ingest")
    assert result.code == ExitStatus.PARTIAL
    assert (
        "huge.json" in result.stderr
        and "holds 20,001 papers, more than the 20,000 one listing may hold" in result.stderr
    )
    assert (project.inbox / "rejected" / "huge.json").exists()
    assert "20,001 papers" in (project.inbox / "rejected" / "huge.json.reason").read_text()


def test_a_file_larger_than_a_listing_may_be_is_set_aside_unread_and_the_others_are_ingested(
    project: Project,
) -> None:
    project.drop("", "good.json", data=json.dumps([item(1, "A small listing")]).encode())
    huge = project.inbox / "huge.json"
    with huge.open("wb") as sparse:  # (a hole on disk: the file is not written, and not read either)
        sparse.truncate(MAX_BYTES + 1)
    result = project.run("ingest")
    assert result.code == ExitStatus.PARTIAL
    assert "huge.json" in result.stderr and "more than the 64 MB one listing may hold" in result.stderr
    assert (project.inbox / "rejected" / "huge.json").exists() and not huge.exists()
    assert set(papers(project)) == {"2403.00001"}
