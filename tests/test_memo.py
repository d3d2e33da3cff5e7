"""The bounded memo behind turnout's per-request look-up tables."""

from __future__ import annotations

from turnout._memo import Memo


def test_a_value_is_made_once_per_key_and_kept() -> None:
    made: list[str] = []

    def upper(key: str) -> str:
        made.append(key)
        return key.upper()

    memo = Memo(upper, limit=10)
    assert [memo["a"], memo["b"], memo["a"], memo["a"]] == ["A", "B", "A", "A"]
    assert made == ["a", "b"]


def test_past_the_limit_values_are_made_but_not_kept() -> None:
    made: list[int] = []

    def double(key: int) -> int:
        made.append(key)
        return key * 2

    memo = Memo(double, limit=3)
    assert [memo[n] for n in range(5)] == [0, 2, 4, 6, 8]
    assert len(memo) == 3
    assert memo[4] == 8 and memo[0] == 0
    assert made == [0, 1, 2, 3, 4, 4]  # 4 was not kept, 0 was


def test_a_kept_none_is_a_value() -> None:
    made: list[str] = []

    def nothing(key: str) -> None:
        made.append(key)

    memo: Memo[str, None] = Memo(nothing, limit=10)
    assert memo["x"] is None and memo["x"] is None
    assert made == ["x"]
