"""Authors' names as people write them: when two name the same author (digest/names.py)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.names import (
    MAX_FOLLOWS,
    MAX_NAME,
    PARTICLES,
    SUFFIXES,
    FollowError,
    checked_follows,
    checked_name,
    parse_name,
    same_author,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("A. Vaswani", "Ashish Vaswani"),
        ("ashish   VASWANI", "Ashish Vaswani"),
        ("Vaswani, Ashish", "Ashish Vaswani"),
        ("Ashish K. Vaswani", "Ashish Vaswani"),  # a middle name may be left out
        ("J.-P. Serre", "Jean-Pierre Serre"),
        ("J. - P. Serre", "Jean\u2010Pierre Serre"),  # spaces around a dash, another dash
        ("J. Serre", "Jean-Pierre Serre"),
        ("Jürgen Müller", "Jurgen Muller"),
        ("Łukasz Kaiser", "Lukasz Kaiser"),
        ("Søren Kierkegaard", "Soren Kierkegaard"),
        ("Johann Strauß", "Johann Strauss"),
        ("Héctor García-Molina", "H. Garcia-Molina"),
        ("Ludwig van Beethoven", "L. Van Beethoven"),
        ("Charles de Gaulle", "C. De Gaulle"),
        ("van Beethoven, Ludwig", "Ludwig van Beethoven"),
        ("Juan de la Cruz", "J. de la Cruz"),
        ("Martin Luther King Jr.", "M. L. King"),
        ("Иван Петров", "иван петров"),
        ("И. Петров", "Иван Петров"),
        ("王小明", "王小明"),
        ("Γιάννης Παπαδόπουλος", "γιάννης παπαδόπουλος"),
    ],
)
def test_names_people_write_for_one_author_match(a: str, b: str) -> None:
    assert same_author(a, b) and same_author(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Ashish Vaswani", "Anna Vaswani"),
        ("Ashish Vaswani", "Ashish Vaswany"),
        ("Jean Serre", "Jean-Pierre Serre"),  # a hyphenated given name is not its first part
        ("J.-P. Serre", "Jean-Marc Serre"),
        ("Ludwig van Beethoven", "Ludwig Beethoven"),  # the particle is part of the family name
        ("Ludwig van Beethoven", "Ludwig von Beethoven"),
        ("Hector Garcia-Molina", "Hector Garcia"),
        ("王小明", "王小红"),
        ("Иван Петров", "Иван Петрова"),
        ("Γιάννης Παπαδόπουλος", "Γιαννης Παπαδοπουλος"),  # accents count outside Latin script
        ("", "Ashish Vaswani"),
        ("...", "..."),
    ],
)
def test_names_of_other_authors_do_not(a: str, b: str) -> None:
    assert not same_author(a, b) and not same_author(b, a)


def test_a_name_is_read_into_family_and_given_names() -> None:
    assert parse_name("Ludwig van  Beethoven").family == "van beethoven"
    assert parse_name("Ludwig van Beethoven").given == ("ludwig",)
    assert parse_name("Da Wang").family == "wang"  # a particle needs a given name before it
    assert parse_name("A.B. Smith").given == ("a", "b")
    assert parse_name("J.-P. Serre").given == ("j-p",)
    assert parse_name("Vaswani, A.").key == parse_name("A. Vaswani").key


def test_a_name_to_follow_is_tidied_and_bounded() -> None:
    assert checked_name("  Ashish\x00  Vaswani\n") == "Ashish Vaswani"
    with pytest.raises(FollowError, match="no letter"):
        checked_name("=1+2")
    with pytest.raises(FollowError, match="empty"):
        checked_name(" \x00 ")
    with pytest.raises(FollowError, match=f"more than {MAX_NAME}"):
        checked_name("A" * (MAX_NAME + 1))
    assert checked_follows(["A. Vaswani", "a.  vaswani", "Yann LeCun"]) == ("A. Vaswani", "Yann LeCun")
    with pytest.raises(FollowError, match=f"more than {MAX_FOLLOWS}"):
        checked_follows([f"Author {chr(0x4E00 + n)}" for n in range(MAX_FOLLOWS + 1)])


LATIN = "abcdefghijklmnopqrstuvwxyz"
ACCENTED = {"a": "áàâäå", "e": "éèêë", "i": "íìîï", "o": "óòôö", "u": "úùûü", "c": "ç", "n": "ñ", "s": "š", "z": "ž"}
word = st.text(LATIN, min_size=1, max_size=8)
#: A word that is only a name: no particle ("af a" is a family name of its own) and no suffix.
name_word = word.filter(lambda text: text not in PARTICLES | SUFFIXES)
initial = st.sampled_from(LATIN).map(lambda letter: letter + ".")
names = st.builds(
    lambda given, particle, family: " ".join([*given, *particle, family]),
    st.lists(word | initial, max_size=3),
    st.lists(st.sampled_from(["van", "de", "von", "der", "di", "da", "le"]), max_size=2),
    word,
)
any_names = names | st.text(max_size=30)


def variant(name: str, data: st.DataObject) -> str:
    """The same name, written otherwise: case, spaces and accents on its Latin letters changed."""
    out = []
    for char in name:
        if char in ACCENTED and data.draw(st.booleans()):
            char = unicodedata.normalize(
                data.draw(st.sampled_from(["NFC", "NFD"])), data.draw(st.sampled_from(ACCENTED[char]))
            )
        if data.draw(st.booleans()):
            char = char.upper()
        out.append(char)
    spaced = "".join(out).replace(" ", data.draw(st.sampled_from([" ", "  ", " \t", "\u00a0"])))
    return data.draw(st.sampled_from(["", " "])) + spaced + data.draw(st.sampled_from(["", "  "]))


@given(any_names, any_names)
def test_matching_is_symmetric(a: str, b: str) -> None:
    assert same_author(a, b) == same_author(b, a)


@given(names, names, st.data())
def test_matching_is_the_same_whatever_the_case_spaces_and_accents(a: str, b: str, data: st.DataObject) -> None:
    assert same_author(a, a.upper())
    assert same_author(variant(a, data), variant(b, data)) == same_author(a, b)
    assert same_author(variant(a, data), a)


@given(word, st.lists(name_word, max_size=2), name_word)
def test_an_initial_matches_the_given_name_it_starts(first: str, middle: list[str], family: str) -> None:
    full = " ".join([first, *middle, family])
    assert same_author(f"{first[0].upper()}. {family}", full)
    assert same_author(f"{family}, {first[0]}.", full)
