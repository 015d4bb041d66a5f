"""``flowkit._json.loggable``: what the history and the ledger record of a value."""

import datetime as dt

import pendulum

from flowkit import _json


def test_a_logged_value_is_a_copy_that_later_changes_do_not_reach() -> None:
    event = {"event": "course.completed", "payload": {"tags": ["a"], "score": 9.5}}
    logged = _json.loggable(event)
    event["payload"]["tags"].append("b")  # type: ignore[index]
    assert logged == {"event": "course.completed", "payload": {"tags": ["a"], "score": 9.5}}


def test_dates_sets_and_tuples_are_logged_as_the_store_encodes_them() -> None:
    value = {"when": pendulum.datetime(2026, 3, 2, 9, tz="UTC"), "day": dt.date(2026, 3, 2),
             "ids": (1, 2), "tags": {"x"}, "$note": "kept as written"}
    assert _json.loggable(value) == {
        "when": {"$datetime": "2026-03-02T09:00:00+00:00", "tz": "UTC"},
        "day": {"$date": "2026-03-02"}, "ids": [1, 2], "tags": {"$set": ["x"]},
        "$note": "kept as written"}


def test_plain_datetimes_and_dates_are_logged_as_the_store_encodes_them() -> None:
    # not as the ISO strings orjson would make of them on its own
    value = [dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), dt.date(2026, 3, 2)]
    assert _json.loggable(value) == [{"$datetime": "2026-03-02T09:00:00+00:00"},
                                     {"$date": "2026-03-02"}]


def test_a_value_json_cannot_hold_is_logged_as_its_repr() -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque>"

    assert _json.loggable([Opaque()]) == "[<Opaque>]"
    assert _json.loggable({1: "a key that is not a str"}) == "{1: 'a key that is not a str'}"


def test_numbers_are_logged_whole() -> None:
    assert _json.loggable([2**70, -(2**63), 0.1, True, None]) == [2**70, -(2**63), 0.1, True, None]
