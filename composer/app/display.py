"""Can Qt open a window here? Asked before Qt is, because a Qt that cannot open its display
aborts the process ("could not connect to display ... Reinstalling the application may fix this
problem") instead of raising.

``display_problem()`` is None when a window can be opened, otherwise one line saying why not.
No Qt is imported: X11 is probed with libxcb's own ``xcb_connect`` (what Qt's xcb plugin calls),
Wayland by connecting to the compositor's socket, and each platform plugin by loading it as Qt
would, so a missing system library is named.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

# Platforms that draw without a screen or a display server.
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "linuxfb", "eglfs", "minimalegl")

XCB_ERRORS = {  # xcb_connection_has_error codes
    1: "the connection broke",
    2: "an extension is missing",
    3: "out of memory",
    4: "a request was too long",
    5: "the display name could not be parsed",
    6: "no screen of that number",
    7: "a file descriptor could not be passed",
}


def plugin_dirs(env: Mapping[str, str]) -> list[Path]:
    """Where Qt looks for platform plugins (QT_QPA_PLATFORM_PLUGIN_PATH, QT_PLUGIN_PATH,
    PySide6's own)."""
    dirs = (
        [Path(env["QT_QPA_PLATFORM_PLUGIN_PATH"])] if env.get("QT_QPA_PLATFORM_PLUGIN_PATH") else []
    )
    dirs += [Path(p) / "platforms" for p in env.get("QT_PLUGIN_PATH", "").split(os.pathsep) if p]
    spec = importlib.util.find_spec("PySide6")
    for location in (spec.submodule_search_locations or []) if spec else []:
        dirs.append(Path(location) / "Qt" / "plugins" / "platforms")
    return dirs


def _plugin_problem(name: str, env: Mapping[str, str]) -> str | None:
    """None if Qt's platform plugin ``name`` exists and its libraries load."""
    for d in plugin_dirs(env):
        candidates = sorted(d.glob(f"libq{name}*.so")) if d.is_dir() else []
        for plugin in candidates:
            try:
                ctypes.CDLL(str(plugin), mode=os.RTLD_LAZY | os.RTLD_LOCAL)
            except OSError as e:
                return f"Qt's {name} plugin cannot load ({str(e).split(':')[0]} is missing)"
            return None
    return f"Qt has no {name!r} platform plugin"


def _x11_problem(env: Mapping[str, str]) -> str | None:
    display = env.get("DISPLAY")
    if not display:
        return "DISPLAY is not set"
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return "libxcb (the X11 client library) is not installed"
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    conn = xcb.xcb_connect(display.encode(errors="surrogateescape"), None)  # reads XAUTHORITY
    code = xcb.xcb_connection_has_error(conn)
    xcb.xcb_disconnect(conn)
    if code:
        why = XCB_ERRORS.get(code, f"error {code}")
        return f"cannot open the X display {display!r}: {why} (is the X server running?)"
    return _plugin_problem("xcb", env)


def _wayland_problem(env: Mapping[str, str]) -> str | None:
    name = env.get("WAYLAND_DISPLAY") or "wayland-0"
    path = Path(name) if name.startswith("/") else Path(env.get("XDG_RUNTIME_DIR", "")) / name
    if not env.get("WAYLAND_DISPLAY") or not (name.startswith("/") or env.get("XDG_RUNTIME_DIR")):
        return "WAYLAND_DISPLAY (or XDG_RUNTIME_DIR) is not set"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(2.0)
        s.connect(str(path))
    except OSError as e:
        return f"cannot connect to the Wayland display at {path} ({e.strerror or e})"
    finally:
        s.close()
    return _plugin_problem("wayland", env)


def display_problem(env: Mapping[str, str] | None = None) -> str | None:
    """None when Qt can open a window (or draw offscreen); otherwise why not, in one line."""
    env = os.environ if env is None else env
    if sys.platform in ("win32", "darwin"):
        return None
    asked = [p.split(":")[0].strip() for p in env.get("QT_QPA_PLATFORM", "").split(";")]
    platforms = [p for p in asked if p]
    if not platforms:  # Qt's own choice: Wayland first in a Wayland session, else X11
        wayland_session = env.get("XDG_SESSION_TYPE") == "wayland"
        platforms = ["wayland", "xcb"] if wayland_session else ["xcb"]
    problems = []
    for name in platforms:
        if name in HEADLESS_PLATFORMS:
            problem = _plugin_problem(name, env)
        elif name == "xcb":
            problem = _x11_problem(env)
        elif name.startswith("wayland"):
            problem = _wayland_problem(env)
        else:
            problem = _plugin_problem(name, env)
        if problem is None:
            return None
        problems.append(problem)
    return "; ".join(problems)
