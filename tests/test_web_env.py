"""Settings fail loudly: a bad value in the environment stops the app with an error naming the
variable, the value and what is allowed; it never silently means the default.

Also: one upload-size limit (``alliance.web.limits``) from which Django's upload buffering and
waitress's body limit are derived.
"""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadhandler import MemoryFileUploadHandler

from alliance.core.alerts.types import NttMethod
from alliance.web import limits, serving
from alliance.web.env import envbool, envchoice, envint, envlist, envstr
from alliance.web.transcripts import services as transcript_services

EXE = Path(sys.executable).with_name("alliance")
SETTINGS = Path(settings.BASE_DIR) / "settings.py"


# --- the readers -------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "True", "YES", "on", " On "])
def test_envbool_true_spellings(raw: str) -> None:
    assert envbool("X", False, env={"X": raw}) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", "Off "])
def test_envbool_false_spellings(raw: str) -> None:
    assert envbool("X", True, env={"X": raw}) is False


@pytest.mark.parametrize("env", [{}, {"X": ""}, {"X": "  "}])
def test_envbool_unset_or_empty_is_the_default(env: dict[str, str]) -> None:
    assert envbool("X", True, env=env) is True
    assert envbool("X", False, env=env) is False


@pytest.mark.parametrize("raw", ["ture", "2", "y", "enabled", "-1", "tru e"])
def test_envbool_refuses_anything_else(raw: str) -> None:
    with pytest.raises(ImproperlyConfigured) as err:
        envbool("ALLIANCE_X", False, env={"ALLIANCE_X": raw})
    assert str(err.value) == (
        f"ALLIANCE_X must be one of 1/0, true/false, yes/no, on/off, not {raw.strip()!r}"
    )


def test_envbool_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLIANCE_TEST_SWITCH", "yes")
    assert envbool("ALLIANCE_TEST_SWITCH", False) is True


@pytest.mark.parametrize(("raw", "value"), [("7", 7), (" 9 ", 9), ("+3", 3), ("10", 10)])
def test_envint_reads_whole_numbers(raw: str, value: int) -> None:
    assert envint("X", 1, min=1, max=10, env={"X": raw}) == value


def test_envint_unset_or_empty_is_the_default() -> None:
    assert envint("X", 5, env={}) == 5
    assert envint("X", 5, env={"X": ""}) == 5


@pytest.mark.parametrize("raw", ["lots", "1.5", "1e3", "1_000", "٣", "0x10", "+", "11", "0"])
def test_envint_refuses_non_numbers_and_values_out_of_range(raw: str) -> None:
    with pytest.raises(ImproperlyConfigured) as err:
        envint("ALLIANCE_N", 5, min=1, max=10, env={"ALLIANCE_N": raw})
    assert str(err.value) == f"ALLIANCE_N must be a whole number from 1 to 10, not {raw!r}"


def test_envint_without_a_maximum_names_its_minimum() -> None:
    assert envint("X", 1, env={"X": "123456789"}) == 123456789
    with pytest.raises(
        ImproperlyConfigured, match=r"^X must be a whole number of at least 1, not '-4'$"
    ):
        envint("X", 1, env={"X": "-4"})
    assert envint("X", 1, min=-5, env={"X": "-4"}) == -4


def test_envstr_keeps_the_value_as_given_and_empty_means_the_default() -> None:
    assert envstr("X", "d", env={"X": " s3cret "}) == " s3cret "
    assert envstr("X", "d", env={"X": ""}) == "d"
    assert envstr("X", "d", env={}) == "d"


def test_envchoice_matches_in_any_case_and_names_the_choices() -> None:
    assert envchoice("X", "etr", ("etr", "nn"), env={"X": "NN"}) == "nn"
    assert envchoice("X", "etr", ("etr", "nn"), env={}) == "etr"
    with pytest.raises(ImproperlyConfigured) as err:
        envchoice("ALLIANCE_NTT_METHOD", "etr", ("etr", "nn"), env={"ALLIANCE_NTT_METHOD": "knn"})
    assert str(err.value) == "ALLIANCE_NTT_METHOD must be one of etr, nn, not 'knn'"


def test_envlist_splits_on_commas_and_drops_blanks() -> None:
    assert envlist("X", ["d"], env={"X": " a, b ,,c "}) == ["a", "b", "c"]
    assert envlist("X", ["d"], env={"X": " , "}) == ["d"]
    assert envlist("X", ["d"], env={}) == ["d"]


def test_envlist_with_choices_returns_their_spelling_and_refuses_unknown_items() -> None:
    choices = ("x-forwarded-for", "x-forwarded-proto")
    assert envlist("X", [], choices=choices, env={"X": "X-Forwarded-For"}) == ["x-forwarded-for"]
    with pytest.raises(ImproperlyConfigured) as err:
        envlist("X", [], choices=choices, env={"X": "x-forwarded-for,x-real-ip"})
    assert str(err.value) == (
        "X: unknown value 'x-real-ip'; choose from x-forwarded-for, x-forwarded-proto"
    )


# --- settings.py, loaded as a process loads it -------------------------------------------


def _load_settings(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter with ``extra`` in its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALLIANCE_", "DJANGO_"))}
    env |= {
        "ALLIANCE_WEB_DIR": str(tmp_path),
        "ALLIANCE_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **extra,
    }
    code = "import alliance.web.settings as s; print(s.HTTPS, s.ALLIANCE_NTT_METHOD)"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def test_a_typo_in_a_switch_stops_settings_loading(tmp_path: Path) -> None:
    """Before: ``ALLIANCE_HTTPS=ture`` loaded and meant *off* (plain cookies, no HSTS)."""
    done = _load_settings(tmp_path, ALLIANCE_HTTPS="ture")
    assert done.returncode != 0, done.stdout
    assert (
        "ImproperlyConfigured: ALLIANCE_HTTPS must be one of 1/0, true/false, yes/no, on/off, "
        "not 'ture'" in done.stderr
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ALLIANCE_DEBUG", "2", "ALLIANCE_DEBUG must be one of 1/0"),
        ("ALLIANCE_SSL_REDIRECT", "nope", "ALLIANCE_SSL_REDIRECT must be one of 1/0"),
        ("ALLIANCE_EMAIL_TLS", "yess", "ALLIANCE_EMAIL_TLS must be one of 1/0"),
        ("ALLIANCE_SESSION_MINUTES", "thirty", "ALLIANCE_SESSION_MINUTES must be a whole number"),
        ("ALLIANCE_LOGIN_MAX_FAILURES", "0", "ALLIANCE_LOGIN_MAX_FAILURES must be a whole number"),
        ("ALLIANCE_EMAIL_PORT", "70000", "ALLIANCE_EMAIL_PORT must be a whole number from 1 to"),
        ("ALLIANCE_NTT_METHOD", "knn", "ALLIANCE_NTT_METHOD must be one of etr, nn, not 'knn'"),
    ],
)
def test_every_kind_of_bad_setting_names_the_variable(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    done = _load_settings(tmp_path, **{name: value})
    assert done.returncode != 0, done.stdout
    assert f"ImproperlyConfigured: {message}" in done.stderr, done.stderr


def test_good_settings_load(tmp_path: Path) -> None:
    done = _load_settings(tmp_path, ALLIANCE_HTTPS="On", ALLIANCE_NTT_METHOD="NN")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "nn"]


def test_the_not_on_track_methods_are_the_cores() -> None:
    assert settings.ALLIANCE_NTT_METHOD in tuple(NttMethod)


def test_settings_read_the_environment_only_through_the_strict_readers() -> None:
    source = SETTINGS.read_text("utf-8")
    assert "os.environ" not in source and "getenv" not in source


def test_serve_with_a_bad_setting_is_one_clear_line_and_status_2(tmp_path: Path) -> None:
    """Before: a traceback (or, for a switch, a server silently without HTTPS)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALLIANCE_", "DJANGO_"))}
    env |= {
        "ALLIANCE_WEB_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ALLIANCE_HTTPS": "ture",
    }
    done = subprocess.run(
        [str(EXE), "serve", "--port", str(port), "--no-worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: ALLIANCE_HTTPS must be one of 1/0, true/false, yes/no, on/off, not 'ture'"
    ]
    assert not (tmp_path / "db.sqlite3").exists()  # stopped before touching the database


# --- one upload-size limit ---------------------------------------------------------------


def test_settings_assign_each_name_once() -> None:
    """Before: FILE_UPLOAD_MAX_MEMORY_SIZE was set twice (6 MB, then 64 KB, which won)."""
    names = [
        target.id
        for node in ast.parse(SETTINGS.read_text("utf-8")).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    ]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_the_upload_view_and_reader_use_the_one_limit() -> None:
    assert transcript_services.MAX_UPLOAD_BYTES == limits.MAX_UPLOAD_BYTES == 5 * 1024 * 1024


def test_waitress_admits_a_recording_at_the_ceiling_with_room_for_its_envelope() -> None:
    """Before: bodies over 8 MiB got 413, so a real session recording never reached the app."""
    body = serving.ServerConfig().waitress_kwargs()["max_request_body_size"]
    assert body == limits.MAX_REQUEST_BODY
    assert body >= limits.MAX_RECORDING_MB * 1_000_000 + 64 * 1024
    assert limits.MAX_FILE_IN_MEMORY >= limits.MAX_UPLOAD_BYTES + 64 * 1024


def test_uploaded_files_stay_in_memory_never_in_a_temporary_file() -> None:
    """Before: any upload over 64 KB was spooled to an unencrypted temporary file. Now the one
    handler keeps a transcript-sized request in memory and drops a file from a bigger one."""
    assert settings.FILE_UPLOAD_HANDLERS == [
        "django.core.files.uploadhandler.MemoryFileUploadHandler"
    ]
    handler = MemoryFileUploadHandler()
    handler.handle_raw_input(None, {}, limits.MAX_FILE_IN_MEMORY, b"boundary")
    assert handler.activated


def test_ordinary_form_posts_keep_their_small_limit() -> None:
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == limits.MAX_FORM_BODY == 64 * 1024
