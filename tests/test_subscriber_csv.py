"""Subscriber CSV against hostile cells: formulas, encodings, NUL bytes, huge cells, terms past the limit."""

from __future__ import annotations

import csv
import io

import pytest

from digest.errors import ExitStatus

from conftest import Project

FORMULAS = ('=HYPERLINK("https://evil.example/","x")', "+1+1", "-2+3", "@SUM(A1)")


def exported(project: Project) -> list[dict[str, str]]:
    result = project.run("subscribers", "export")
    assert result.code == ExitStatus.OK, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_export_neutralises_formula_cells_and_import_takes_them_back(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert project.run("subscribers", "add", "=cmd|calc@example.org", "--interests", "-2+3, graphs").code == 0
    assert (
        project.run("subscribers", "like", "=cmd|calc@example.org", *FORMULAS[:1], "'=already quoted title").code == 0
    )
    assert project.run("subscribers", "add", "+bob@example.org", "--include", "@home").code == 0
    rows = exported(project)
    for row in rows:
        for name, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@")), (name, cell)
    first = next(row for row in rows if "cmd" in row["email"])
    assert first["email"] == "'=cmd|calc@example.org" and first["interests"] == "'-2+3, graphs"
    assert first["likes"].startswith("'=HYPERLINK") and "\n'=already quoted title" in first["likes"]
    # Imported elsewhere, the export gives the same subscribers and profiles.
    other = Project(tmp_path_factory.mktemp("other") / "project", "sqlite:///digest.db")
    other.inbox.mkdir(parents=True)
    other.write_config()
    path = other.root / "readers.csv"
    path.write_text(project.run("subscribers", "export").stdout, encoding="utf-8")
    result = other.run("subscribers", "import", str(path))
    assert result.code == ExitStatus.OK, result.stderr
    assert exported(other) == [{**row, "created_at": row["created_at"]} for row in rows]
    votes = other.run("subscribers", "votes", "=cmd|calc@example.org").lines
    titles = sorted(line.removeprefix("like     ").split("  (", 1)[0] for line in votes)
    assert titles == sorted([FORMULAS[0], "'=already quoted title"])


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (
            "email,interests\nreader@example.org,caf\u00e9 au lait\n".encode("latin-1"),
            "not UTF-8 (byte 0xe9 on line 2)",
        ),
        ("email\nreader@example.org\n".encode("utf-16"), "not UTF-8 (it is UTF-16)"),
        (bytes(range(256)) * 4, "not UTF-8 (byte 0x80 on line 2)"),
    ],
)
def test_a_file_that_is_not_utf8_is_refused_with_a_clear_line(project: Project, data: bytes, says: str) -> None:
    path = project.root / "readers.csv"
    path.write_bytes(data)
    result = project.run("subscribers", "import", str(path))
    assert result.code == ExitStatus.USAGE
    assert says in result.stderr and "save it as UTF-8" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def bad_rows_file(project: Project) -> str:
    path = project.root / "readers.csv"
    path.write_text(
        "email,interests,likes\n"
        "good1@example.org,graphs,\n"
        f'huge@example.org,graphs,"{"x" * 1_000_001}"\n'
        "nul@example.org,gra\x00phs,\n"
        "long@example.org," + "a" * 501 + ",\n"
        'many@example.org,"' + ", ".join(f"t{n}" for n in range(31)) + '",\n'
        'good2@example.org,speech,"arXiv:2403.01234\nAttention Is All You Need"\n',
        encoding="utf-8",
    )
    return str(path)


def check_bad_rows(project: Project) -> None:
    result = project.run("subscribers", "import", bad_rows_file(project), "--verbose")
    assert result.code == ExitStatus.PARTIAL, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 4, result.stderr
    assert "readers.csv:3: a cell is longer than 1,000,000 characters; row skipped" in lines[0]
    assert "readers.csv:4: column interests holds a NUL or another control character; row skipped" in lines[1]
    assert "readers.csv:5: interests: 501 characters, more than 500; row skipped" in lines[2]
    assert "readers.csv:6: interests: 31 terms, more than 30; row skipped" in lines[3]
    assert "imported 2 new and 0 known addresses; 4 rows skipped" in result.stdout
    emails = [row["email"] for row in exported(project)]
    assert emails == ["good1@example.org", "good2@example.org"]


def test_bad_rows_are_named_by_line_and_the_rest_is_imported(project: Project) -> None:
    check_bad_rows(project)


@pytest.mark.postgres
def test_bad_rows_are_named_by_line_on_postgresql_too(pg_project: Project) -> None:
    check_bad_rows(pg_project)


def test_one_limit_on_terms_for_the_command_line(project: Project) -> None:
    result = project.run("subscribers", "add", "reader@example.org", "--interests", "a" * 501)
    assert result.code == ExitStatus.USAGE and "--interests: 501 characters, more than 500" in result.stderr
    assert project.run("subscribers", "add", "reader@example.org").code == ExitStatus.OK
    result = project.run(
        "subscribers", "set", "reader@example.org", "--interests", ",".join("x" * 101 for _ in range(2))
    )
    assert result.code == ExitStatus.USAGE and "has 101 characters, more than 100" in result.stderr
    result = project.run("subscribers", "add", "other@example.org", "--include", ",".join(f"t{n}" for n in range(31)))
    assert result.code == ExitStatus.USAGE and "--include: 31 terms, more than 30" in result.stderr
