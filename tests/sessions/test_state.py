"""`SharedSession` records what a request changed, so a store merges only that."""

from __future__ import annotations

import sys

import pytest

from turnout.sessions.serializer import CompactJSON, default_serializer
from turnout.sessions.state import Changes, SharedSession


def test_a_session_that_was_only_read_has_no_changes() -> None:
    session = SharedSession({"a": 1, "cart": {"1": 2}})
    assert session["a"] == 1 and session.get("cart") == {"1": 2} and session.get("missing", 5) == 5
    assert list(session) == ["a", "cart"] and len(session) == 2 and "a" in session
    assert not session.changes()
    assert not session.modified
    assert session.accessed


def test_sets_and_deletes_are_recorded_by_key() -> None:
    session = SharedSession({"a": 1, "b": 2, "c": 3})
    session["a"] = 10
    del session["b"]
    session.pop("c")
    session["c"] = 30  # set again after the delete: a set
    session.setdefault("d", 4)
    changes = session.changes()
    assert changes == Changes(cleared=False, updated={"a": 10, "c": 30, "d": 4}, deleted=frozenset({"b"}), rotate=False)
    session["b"] = 2
    del session["b"]
    assert session.changes().deleted == {"b"} and "b" not in session.changes().updated


def test_a_value_changed_in_place_counts_as_set() -> None:
    session = SharedSession({"cart": {"1": 2}, "other": [1]})
    session["cart"]["1"] = 3
    assert session.changes().updated == {"cart": {"1": 3}}
    assert session.modified


def test_a_clear_drops_everything_and_asks_for_a_new_id() -> None:
    session = SharedSession({"a": 1}, session_id="old")
    session["b"] = 2
    session.clear()
    session["c"] = 3
    assert session.changes() == Changes(cleared=True, updated={"c": 3}, deleted=frozenset(), rotate=True)
    assert session.as_dict() == {"c": 3}


def test_rotate_keeps_the_data() -> None:
    session = SharedSession({"a": 1})
    session.rotate()
    changes = session.changes()
    assert changes.rotate and not changes.cleared and bool(changes)
    assert session.as_dict() == {"a": 1}


def test_turnouts_own_reads_are_not_accesses() -> None:
    session = SharedSession({"_user_id": "7"})
    assert session.peek("_user_id") == "7" and session.peek("missing", "x") == "x"
    assert not session.is_empty() and session.as_dict() == {"_user_id": "7"}
    assert not session.accessed
    session.mark_accessed()
    assert session.accessed


def test_flask_attributes() -> None:
    session = SharedSession()
    assert session.new and not session.permanent
    session.permanent = True
    assert session.permanent and session.changes().updated == {"_permanent": True}
    assert not SharedSession({"a": 1}).new


def test_flasks_modified_idiom_marks_every_key_read_as_set() -> None:
    session = SharedSession({"a": 1, "b": 2, "gone": 3})
    assert session["a"] == 1 and session["gone"] == 3
    del session["gone"]
    session.modified = False  # nothing to undo: ignored
    assert session.changes().updated == {}
    session.modified = True
    assert session.changes().updated == {"a": 1}


def test_repr_shows_the_data() -> None:
    assert repr(SharedSession({"a": 1})) == "<SharedSession {'a': 1}>"


def test_without_flask_values_are_compact_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "flask.json.tag", None)
    serializer = default_serializer()
    assert isinstance(serializer, CompactJSON)
    assert serializer.dumps({"a": [1, 2]}) == '{"a":[1,2]}'
    assert serializer.loads('{"a":[1,2]}') == {"a": [1, 2]}
    session = SharedSession({"a": [1]}, serializer=serializer)
    session["a"].append(2)
    assert session.changes().updated == {"a": [1, 2]}
