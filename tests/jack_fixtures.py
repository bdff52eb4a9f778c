"""What the tests through a real JACK server share: skipping without one, unique port names."""

from __future__ import annotations

import os
import uuid

import pytest

from composer.errors import PortError
from composer.realtime import ports

START = "jackd --no-realtime -d dummy -r 48000 -p 256"


def need_jack(problem: str | None) -> None:
    """Skip when ``problem`` (why JACK cannot be used) is set; fail instead when
    COMPOSER_REQUIRE_JACK=1, as in CI, where a missing server is a broken setup."""
    if not problem:
        return
    if os.environ.get("COMPOSER_REQUIRE_JACK") == "1":
        pytest.fail(f"COMPOSER_REQUIRE_JACK=1 but {problem}")
    pytest.skip(f"{problem} (start one: {START})")


def rtmidi_jack_problem() -> str | None:
    """Why python-rtmidi cannot reach a JACK server, or None."""
    try:
        ports.list_ports("jack")
    except PortError:
        return "no JACK server is running"
    return None


def unique(prefix: str) -> str:
    """A port or client name no other test run uses."""
    return f"{prefix}-{uuid.uuid4().hex[:6]}"
