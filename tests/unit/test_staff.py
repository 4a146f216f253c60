import datetime
import string

import pytest

from app.models import Department, Employee
from app.services import staff
from app.services.errors import Refused


def test_generated_passwords_are_strong_and_different():
    passwords = {staff.generate_password() for _ in range(50)}
    assert len(passwords) == 50
    for p in passwords:
        assert len(p) == 14
        assert any(c in string.ascii_lowercase for c in p)
        assert any(c in string.ascii_uppercase for c in p)
        assert any(c in string.digits for c in p)


def test_set_new_password_stores_only_a_hash():
    user = Employee(username="u")
    clear = staff.set_new_password(user)
    assert clear not in user.password
    assert staff.password_matches(user, clear)
    assert not staff.password_matches(user, clear + "x")


def test_department_depth_limited_to_three_levels():
    top = Department(name="Top")
    mid = Department(name="Mid", parent=top)
    low = Department(name="Low", parent=mid)
    staff.check_department_parent(low)
    too_deep = Department(name="Too deep", parent=low)
    with pytest.raises(Refused, match="at most 3"):
        staff.check_department_parent(too_deep)


def test_moving_a_subtree_counts_its_height():
    a, b = Department(name="A"), Department(name="B")
    child = Department(name="B1", parent=b)
    Department(name="B2", parent=child)
    b.parent = a
    with pytest.raises(Refused, match="at most 3"):
        staff.check_department_parent(b)


def test_department_cannot_be_its_own_ancestor():
    a = Department(name="A")
    b = Department(name="B", parent=a)
    a.parent = b
    with pytest.raises(Refused, match="inside itself"):
        staff.check_department_parent(a)


def test_lock_after_repeated_failures():
    now = datetime.datetime(2026, 1, 1, 12, 0)
    user = Employee(username="u", fail_login_count=4)
    staff.record_failed_login(user, attempts=5, minutes=15, now=now)
    assert not staff.is_locked(user, now)
    user.fail_login_count = 5
    staff.record_failed_login(user, attempts=5, minutes=15, now=now)
    assert staff.is_locked(user, now + datetime.timedelta(minutes=14))
    assert not staff.is_locked(user, now + datetime.timedelta(minutes=16))
