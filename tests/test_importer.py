from __future__ import annotations

import os.path
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures import apps, isolated_imports, write_module
from turnout.exceptions import ImportStringError
from turnout.importer import import_from_string, is_asgi_app, is_wsgi_app


@pytest.fixture(autouse=True)
def sandbox() -> Iterator[None]:
    with isolated_imports():
        yield


@pytest.fixture
def importable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on `sys.path` for modules written by the test."""
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_imports_a_module_attribute() -> None:
    assert import_from_string("os.path:join") is os.path.join


def test_imports_a_nested_attribute() -> None:
    assert import_from_string("tests.fixtures.apps:holder.app") is apps.api
    assert import_from_string("tests.fixtures.apps:Holder.endpoints.item") is apps.item_v2


@pytest.mark.parametrize("bad", ["tests.fixtures.apps", ":api", "tests.fixtures.apps:", "apps:holder..app", " :x"])
def test_a_string_without_module_and_attribute_is_refused(bad: str) -> None:
    with pytest.raises(ImportStringError, match=r'must be in the form "<module>:<attribute>"'):
        import_from_string(bad)


def test_a_relative_module_is_refused_with_its_absolute_name() -> None:
    with pytest.raises(ImportStringError, match=r"relative module names are not supported.*'apps'"):
        import_from_string(".apps:api")


@pytest.mark.parametrize(
    ("import_str", "missing"),
    [
        ("turnout_no_such_module:app", "turnout_no_such_module"),
        ("turnout_no_such_package.wsgi:app", "turnout_no_such_package"),
        ("tests.fixtures.no_such_module:app", "tests.fixtures.no_such_module"),
    ],
)
def test_a_missing_module_is_named(import_str: str, missing: str) -> None:
    with pytest.raises(ImportStringError, match=f"no module named '{missing}'; check the spelling") as info:
        import_from_string(import_str)
    assert info.value.__cause__ is None


def test_a_module_that_imports_something_missing_shows_the_inner_error() -> None:
    with pytest.raises(ImportStringError) as info:
        import_from_string("tests.fixtures.broken:app")
    message = str(info.value)
    assert "importing 'tests.fixtures.broken' failed" in message
    assert "No module named 'turnout_test_dependency_that_is_not_installed'" in message
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_an_import_error_inside_the_module_is_shown(importable: Path) -> None:
    write_module(importable, "bad_name", "from os import turnout_no_such_name\n")
    with pytest.raises(
        ImportStringError, match="importing 'bad_name' failed: cannot import name 'turnout_no_such_name'"
    ):
        import_from_string("bad_name:app")


def test_a_syntax_error_names_the_file_and_line(importable: Path) -> None:
    path = write_module(importable, "bad_syntax", "x = 1\ndef broken(:\n")
    with pytest.raises(ImportStringError, match="'bad_syntax' has a syntax error") as info:
        import_from_string("bad_syntax:x")
    assert f"({path}, line 2)" in str(info.value)


def test_a_missing_attribute_is_named_with_a_suggestion() -> None:
    with pytest.raises(ImportStringError) as info:
        import_from_string("tests.fixtures.apps:legacyy")
    assert str(info.value) == (
        "import string 'tests.fixtures.apps:legacyy': 'tests.fixtures.apps' has no attribute 'legacyy'; "
        "did you mean 'legacy'?"
    )


def test_a_missing_nested_attribute_names_its_owner() -> None:
    with pytest.raises(ImportStringError) as info:
        import_from_string("tests.fixtures.apps:holder.zzz")
    assert str(info.value).endswith("'tests.fixtures.apps:holder' has no attribute 'zzz'")


def test_asgi_apps_are_recognised() -> None:
    assert is_asgi_app(apps.api)
    assert is_asgi_app(apps.asgi_function)
    assert is_asgi_app(apps.async_instance)
    assert is_asgi_app(apps.asgi_partial)


@pytest.mark.parametrize(
    "obj",
    [
        apps.legacy,
        apps.wsgi_function,
        apps.two_arguments,
        apps.sync_three,
        apps.three_with_extra,
        apps.AsyncCallable,
        42,
    ],
)
def test_other_objects_are_not_asgi_apps(obj: object) -> None:
    assert not is_asgi_app(obj)


def test_wsgi_apps_are_recognised() -> None:
    assert is_wsgi_app(apps.legacy)
    assert is_wsgi_app(apps.wsgi_function)


@pytest.mark.parametrize(
    "obj", [apps.api, apps.asgi_function, apps.two_arguments, apps.hello, type(apps.legacy), getattr, 42]
)
def test_other_objects_are_not_wsgi_apps(obj: object) -> None:
    assert not is_wsgi_app(obj)
