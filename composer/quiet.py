"""Silencing C libraries (ALSA, JACK, FluidSynth) that print to file descriptor 2.

Their lines duplicate the one-line error Composer raises when a port or an audio device cannot
be opened, so they are hidden while a client or a driver is created.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send fd 2 to /dev/null for the duration. A no-op where fd 2 cannot be duplicated."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        sys.stderr.flush()
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
