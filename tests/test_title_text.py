"""Titles and abstracts read as text: inline TeX in titles, and words hyphenated across a hard-wrapped line."""

from __future__ import annotations

import email
import email.policy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.listings.identity import join_wrapped
from digest.site.tex import title_text

from conftest import Project


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "From $r$ to $Q^*$: Your Language Model is Secretly a Q-Function",
            "From r to Q*: Your Language Model is Secretly a Q-Function",
        ),
        ("$\\alpha$-Nets: {B}etter Priors", "\u03b1-Nets: Better Priors"),
        ("$\\mathcal{O}(n \\log n)$ Attention", "\U0001d4aa(n log n) Attention"),
        ("$\\pi_0$: A Vision-Language-Action Flow Model", "π₀: A Vision-Language-Action Flow Model"),
        ("$\\tau^2$-Bench and $x^{n+1}$ and $W_{\\theta}$", "τ²-Bench and xⁿ⁺¹ and W_θ"),
        ("$\\ell_1$ Sparsity over $\\mathbb{R}^n$", "ℓ₁ Sparsity over ℝⁿ"),
        ('R\\"ontgen, Na\\"ive \\& Fast', "Röntgen, Naïve & Fast"),
        ("Using \\textbf{Bold} Ideas", "Using Bold Ideas"),
        ("$\\foo$ of an Unknown Command", "foo of an Unknown Command"),
        # Not TeX: left exactly as it is.
        ("Prices from $5 and $10 a Month", "Prices from $5 and $10 a Month"),
        ("A 100% Solution ~ Fine & Dandy", "A 100% Solution ~ Fine & Dandy"),
        ("JSON {key} Maps", "JSON {key} Maps"),
        ("An Unclosed $x Dollar", "An Unclosed $x Dollar"),
    ],
)
def test_inline_tex_in_a_title_reads_as_text(title: str, text: str) -> None:
    assert title_text(title) == text


@given(st.text(alphabet=st.characters(blacklist_characters="$\\", blacklist_categories=("Cs",))))
def test_a_title_without_tex_is_left_alone(title: str) -> None:
    assert title_text(title) == title


@given(
    st.lists(
        st.sampled_from(
            [
                "a",
                "b",
                " ",
                "$",
                "\\",
                "{",
                "}",
                "^",
                "_",
                "*",
                "%",
                "~",
                "&",
                "<",
                "1",
                "\\alpha",
                "\\frac{1}{2}",
                "\\\\",
                '\\"o',
                "$x^{2}$",
            ]
        ),
        max_size=30,
    ).map("".join)
)
def test_any_title_reads_as_one_line_and_never_fails(title: str) -> None:
    assert "\n" not in title_text(title)


def test_words_hyphenated_across_a_line_join_without_a_space() -> None:
    assert (
        join_wrapped(["we train a large-", "scale model at low-", "cost"]) == "we train a large-scale model at low-cost"
    )
    assert join_wrapped(["a pause -", "then more", "and 2-", "3 runs"]) == "a pause - then more and 2- 3 runs"


DUMP = (
    b"Mar 20\n\n"
    b"From $r$ to $Q^*$: Your Language Model is Secretly a Q-Function\n\n"
    b"We show that direct preference optimisation with large-\n"
    b"scale data learns a token-level Q-function, and that its\n"
    b"likelihood moves in ways a Bellman view of the objective explains.\n\n"
    b"<b>$\\alpha$</b>-Nets: Better Priors for Sparse Models\n\n"
    b"We propose alpha nets, a family of priors for sparse models that\n"
    b"improve calibration on every benchmark we tried, at no extra cost.\n"
)


def test_tex_titles_read_as_text_in_the_mail_the_feeds_and_the_archive(project: Project) -> None:
    project.drop("", "tex.txt", data=DUMP)
    assert project.run("subscribers", "add", "ada@example.org").code == 0
    assert project.run("run").code == 0
    (path,) = (project.root / "outbox" / "new").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    site = project.root / "site"
    archive = (site / "archive" / "2026-03-20.html").read_text(encoding="utf-8")
    feeds = (site / "feed.xml").read_text(encoding="utf-8") + (site / "atom.xml").read_text(encoding="utf-8")
    for shown in (html, text, archive, feeds):
        assert "From r to Q*: Your Language Model" in shown
        assert "$Q^*$" not in shown and "$r$" not in shown
    for shown in (html, archive):
        assert "&lt;b&gt;\u03b1&lt;/b&gt;-Nets" in shown and "<b>\u03b1" not in shown  # markup stays text
    assert "large-scale data" in archive and "large- scale" not in archive
    stored = [json.loads(line)["title"] for line in project.run("papers", "--json").lines]
    assert "From $r$ to $Q^*$: Your Language Model is Secretly a Q-Function" in stored  # kept as it came


def test_tex_that_cannot_be_read_is_shown_as_it_came_and_says_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    broken = "A \\frac{x} Title With $\\frac{$ Broken TeX"
    assert title_text(broken) == broken
    assert title_text("\\frac{" * 150) == "\\frac{" * 150
    long = "$x$ " * 400  # no title is this long: shown as it came
    assert title_text(long) == long
    assert capfd.readouterr().err == ""  # under cron, a line on stderr is a mail to the operator
