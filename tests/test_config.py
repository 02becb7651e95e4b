"""schedule.yaml: a working example, and every bad value named by its key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.config import load_config
from digest.errors import ConfigError, ExitStatus

from conftest import ROOT, Project


def test_the_example_config_loads() -> None:
    config = load_config(ROOT / "schedule.yaml", {})
    assert config.inbox == ROOT / "examples" / "dumps"
    assert config.database == f"sqlite:///{ROOT / 'var' / 'digest.db'}"
    assert config.site.url.endswith("/")
    assert config.schedule.poll == dt.timedelta(minutes=5)
    assert config.schedule.misfire_grace == dt.timedelta(hours=3)
    assert str(config.timezone) == "Europe/London"
    # The quick start writes nothing into the clone but under var/ (ignored by git).
    outputs = [config.site.dir, config.delivery.outbox, config.rejected, config.preview]
    assert all((ROOT / "var") in path.parents for path in outputs), outputs


def test_rejected_dumps_go_beside_the_inbox_unless_told_otherwise(tmp_path: Path) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text("site: {url: 'https://x.org/'}\ninbox: in\n")
    assert load_config(path, {}).rejected == tmp_path / "in" / "rejected"


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "schedule.yaml").write_text(
        "inbox: in\ndatabase: sqlite:///db/h.db\nsite: {url: 'http://x.org', dir: s}\n"
    )
    config = load_config(folder / "schedule.yaml", {})
    assert config.inbox == folder / "in"
    assert config.database == f"sqlite:///{folder / 'db' / 'h.db'}"
    assert config.site.dir == folder / "s"
    assert config.site.url == "http://x.org/"


def test_the_environment_overrides_the_database(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("site: {url: 'https://x.org/'}\n")
    config = load_config(tmp_path / "c.yaml", {"DIGEST_DATABASE_URL": "postgresql://u:secret@db/digest"})
    assert config.database == "postgresql://u:secret@db/digest"


@pytest.mark.parametrize(
    ("yaml_text", "key", "words"),
    [
        ("timezone: Mars/Olympus\n", "timezone", "unknown timezone"),
        ("emial: {}\n", "emial", "did you mean 'email'"),
        ("site: {url: 'https://x.org/', colour: red}\n", "site.colour", "unknown key"),
        ("site: {url: 'x.org'}\n", "site.url", "absolute http(s) URL"),
        ("schedule: {send: '61 * * * *'}\n", "schedule.send", "bad cron expression"),
        ("schedule: {send: 'every day'}\n", "schedule.send", "bad cron expression"),
        ("schedule: {poll: -5}\n", "schedule.poll", "more than zero"),
        ("schedule: {poll: 'soon'}\n", "schedule.poll", "positive duration"),
        ("schedule: {misfire_grace: 0}\n", "schedule.misfire_grace", "more than zero"),
        ("email: {for_you: many}\n", "email.for_you", "whole number"),
        ("email: {max_papers: 40}\n", "email.max_papers", "'for_you' sets how many"),
        ("email: {subject: 'Hi {name}'}\n", "email.subject", "{date}, {count} and {papers}"),
        ("email: {from: nobody}\n", "email.from", "email address"),
        ("database: mysql://x/y\n", "database", "sqlite:///PATH or postgresql://"),
        ("database: postgresql://u:pw@h/d\n", "database", "DIGEST_DATABASE_URL"),
        ("site: [1, 2]\n", "site", "expected a mapping"),
        ("delivery: {timeout: 99999999999d}\n", "delivery.timeout", "at most 3660 days"),
        ("schedule: {poll: 1.0e+300}\n", "schedule.poll", "at most 3660 days"),
        ("schedule: {send: '0 7 30 2 *'}\n", "schedule.send", "never fires"),
        ("site: {url: 'https://[::1/'}\n", "site.url", "not a valid URL"),
        ("inbox_settle: soon\n", "inbox_settle", "positive duration"),
    ],
)
def test_bad_values_name_their_key(tmp_path: Path, yaml_text: str, key: str, words: str) -> None:
    path = tmp_path / "schedule.yaml"
    text = yaml_text if yaml_text.startswith("site") else yaml_text + "site: {url: 'https://x.org/'}\n"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert caught.value.key == key
    assert words in caught.value.one_line()
    assert caught.value.one_line().startswith(f"{path}: {key}: ")


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.yaml", {})
    (tmp_path / "bad.yaml").write_text("site: {url: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml", {})
    (tmp_path / "nosite.yaml").write_text("timezone: UTC\n")
    with pytest.raises(ConfigError, match=r"site\.url: is required"):
        load_config(tmp_path / "nosite.yaml", {})


def test_a_config_error_exits_2_with_one_line(project: Project) -> None:
    project.write_config("schedule:\n  send: '99 99 * * *'\n")
    result = project.run("status")
    assert result.code == ExitStatus.USAGE == 2
    (line,) = result.stderr.splitlines()
    assert "schedule.yaml: schedule.send: bad cron expression" in line
    assert project.run("status", "--config", str(project.root / "missing.yaml")).code == 2


def test_a_key_given_twice_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text("site: {url: 'https://x.org/'}\ndelivery:\n  rate: 5\n  rate: 50\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert "line 4" in caught.value.one_line()
    assert "'rate' is given twice" in caught.value.one_line()


def test_a_malformed_smtp_url_names_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text("site: {url: 'https://x.org/'}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {"DIGEST_SMTP_URL": "smtp://[::1"})
    assert caught.value.key == "DIGEST_SMTP_URL"
    assert "not a valid URL" in caught.value.one_line()


def test_the_settle_time_can_be_switched_off(tmp_path: Path) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text("site: {url: 'https://x.org/'}\ninbox_settle: 0\n")
    assert load_config(path, {}).inbox_settle == dt.timedelta(0)
    path.write_text("site: {url: 'https://x.org/'}\n")
    assert load_config(path, {}).inbox_settle == dt.timedelta(seconds=5)


PLAIN_PART = st.one_of(
    st.just("*"),
    st.integers(0, 65).map(str),
    st.tuples(st.integers(0, 40), st.integers(0, 40)).map(lambda pair: f"{pair[0]}-{pair[1]}"),
    st.integers(0, 20).map(lambda step: f"*/{step}"),
    st.sampled_from(["mon", "jan", "L", "5/15", "last", "?"]),
)
PLAIN_FIELD = st.lists(PLAIN_PART, min_size=1, max_size=3).map(",".join)


@settings(deadline=None)
@given(fields=st.lists(PLAIN_FIELD, min_size=5, max_size=5))
def test_what_the_quick_check_accepts_the_scheduler_accepts_and_fires(fields: list[str]) -> None:
    """Configuration loading skips the scheduler library for plain crontabs: it must never accept a bad one."""
    from digest.cron import crontab_trigger, surely_fires

    expression = " ".join(fields)
    if surely_fires(expression):
        london = ZoneInfo("Europe/London")
        trigger = crontab_trigger(expression, london)
        assert trigger.get_next_fire_time(None, dt.datetime(2000, 1, 1, tzinfo=london)) is not None


def test_the_usual_crontabs_are_told_valid_without_the_scheduler_library() -> None:
    from digest.cron import surely_fires

    assert all(
        surely_fires(text) for text in ("0 7 * * *", "*/10 * * * *", "30 6 * * 1-5", "0 7 29 2 *", "0 0 1,15 * 0")
    )
    assert not any(
        surely_fires(text) for text in ("0 7 30 2 *", "61 * * * *", "0 7 * * mon", "every day", "5/15 * * * *")
    )
