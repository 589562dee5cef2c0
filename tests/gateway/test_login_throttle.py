"""Login throttling: repeated failed logins for one username (or from one address) lock it for a period, with a
429 login_locked saying for how long; while locked even the right password is refused; the lock lifts when
the period is over and a successful login clears the count. The API and the web login page share it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from gateway.services import users
from tests.conftest import FAST_SCRYPT
from tests.gateway.helpers import PASSWORD, Gateway, error_of

USCC = "91350100MA2XXXXX0X"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(gw: Gateway) -> Iterator[Clock]:
    """The gateway's own throttle, on a clock the test moves; cleared afterwards (other tests log in too)."""
    throttle = users.login_throttle(gw.ctx)
    saved = throttle.clock
    fake = Clock()
    throttle.clock = fake
    throttle.clear()
    yield fake
    throttle.clock = saved
    throttle.clear()


def _enterprise_login(gw: Gateway) -> str:
    username = f"throttle-{uuid.uuid4().hex[:10]}"
    users.create_user(gw.ctx.sessions, username, PASSWORD, kind="enterprise", uscc=USCC, scrypt_n=FAST_SCRYPT)
    return username


def test_repeated_failures_lock_the_username_then_the_lock_lifts(gw: Gateway, clock: Clock) -> None:
    username = _enterprise_login(gw)
    throttle = users.login_throttle(gw.ctx)
    for _ in range(throttle.max_failures - 1):
        error_of(gw.login(username, "wrong password!"), 401, "bad_credentials")
    # the failure that reaches the limit says so at once
    body = error_of(gw.login(username, "wrong password!"), 429, "login_locked")
    assert body["scope"] == "username"
    assert body["retry_after_seconds"] == throttle.lock_seconds
    assert "15 minute" in body["message"]
    # locked: even the right password is refused, and says how long is left
    clock.now += 600
    body = error_of(gw.login(username, PASSWORD), 429, "login_locked")
    assert body["retry_after_seconds"] == throttle.lock_seconds - 600
    # other usernames are not affected
    assert gw.login(gw.usernames["MARKET"]).status_code == 200
    # after the period the right password works again
    clock.now += throttle.lock_seconds - 600 + 1
    assert gw.login(username, PASSWORD).status_code == 200


def test_failures_outside_the_window_and_a_success_reset_the_count(gw: Gateway, clock: Clock) -> None:
    username = _enterprise_login(gw)
    throttle = users.login_throttle(gw.ctx)
    for _ in range(throttle.max_failures - 1):
        error_of(gw.login(username, "wrong password!"), 401, "bad_credentials")
    clock.now += throttle.window_seconds + 1  # those have aged out of the window
    for _ in range(throttle.max_failures - 1):
        error_of(gw.login(username, "wrong password!"), 401, "bad_credentials")
    assert gw.login(username, PASSWORD).status_code == 200  # a success clears the count
    for _ in range(throttle.max_failures - 1):
        error_of(gw.login(username, "wrong password!"), 401, "bad_credentials")
    error_of(gw.login(username, "wrong password!"), 429, "login_locked")


def test_usernames_are_counted_case_insensitively_and_unknown_ones_too(gw: Gateway, clock: Clock) -> None:
    name = f"Nobody-{uuid.uuid4().hex[:8]}"
    throttle = users.login_throttle(gw.ctx)
    for i in range(throttle.max_failures - 1):
        error_of(gw.login(name.upper() if i % 2 else name.lower(), PASSWORD), 401, "bad_credentials")
    # the same answer for an unknown username as for a known one: the lock says nothing about existence
    error_of(gw.login(name, PASSWORD), 429, "login_locked")


def test_one_address_trying_many_usernames_is_locked() -> None:
    clock = Clock()
    throttle = users.LoginThrottle(max_failures=5, max_failures_per_address=8, window_seconds=900,
                                   lock_seconds=300, clock=clock)
    for i in range(7):
        throttle.check(f"user{i}", "10.0.0.7")
        throttle.failed(f"user{i}", "10.0.0.7")
    with pytest.raises(users.LoginLocked) as locked:
        throttle.failed("user7", "10.0.0.7")
    assert locked.value.scope == "address" and locked.value.retry_after == 300
    with pytest.raises(users.LoginLocked):
        throttle.check("someone-else", "10.0.0.7")
    throttle.check("someone-else", "10.0.0.8")  # another address is free
    clock.now += 301
    throttle.check("someone-else", "10.0.0.7")


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        users.LoginThrottle(max_failures=0)
