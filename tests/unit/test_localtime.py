import datetime

from app.services.localtime import to_local, to_utc

D = datetime.datetime


def test_moscow_is_three_hours_ahead_all_year():
    assert to_local(D(2026, 1, 15, 6, 0), "Europe/Moscow") == D(2026, 1, 15, 9, 0)
    assert to_local(D(2026, 7, 15, 21, 30), "Europe/Moscow") == D(2026, 7, 16, 0, 30)
    assert to_utc(D(2026, 7, 16, 0, 30), "Europe/Moscow") == D(2026, 7, 15, 21, 30)


def test_round_trip_and_none():
    for zone in ("Europe/Moscow", "Asia/Vladivostok", "Europe/Berlin", "UTC"):
        moment = D(2026, 3, 29, 12, 15)
        assert to_utc(to_local(moment, zone), zone) == moment
    assert to_local(None, "Europe/Moscow") is None and to_utc(None, "UTC") is None


def test_summer_time_where_there_is_one():
    assert to_utc(D(2026, 7, 1, 12, 0), "Europe/Berlin") == D(2026, 7, 1, 10, 0)
    assert to_utc(D(2026, 1, 1, 12, 0), "Europe/Berlin") == D(2026, 1, 1, 11, 0)
