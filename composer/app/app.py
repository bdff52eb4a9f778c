"""Start the app: ``run(path=None, screenshot=None, quit_after_compose=False)``.

With ``screenshot`` the app composes a chorale (the panel's settings) as soon as the model
has loaded, saves a PNG of the window and, with ``quit_after_compose``, quits. Cold-start
figures (seconds to the window shown, to a composed chorale on the roll) are printed then. Any
error on the way (no model, a screenshot that cannot be written) is one line on stderr and exit
status 2, instead of a dialog nobody will click.

SIGTERM, SIGHUP and SIGINT close the window cleanly, keeping unexported work in the autosave
(composer.app.termination).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from composer.errors import ComposerError

T0 = time.perf_counter()


def check_qt() -> None:
    """Refuse a Qt binding known to crash the app (raises ComposerError saying what to do).

    PySide6 6.12.0 drops a reference to the bool that ``Signal.emit`` returns; on Python < 3.12
    (where True and False are not immortal) the app aborts after a few thousand emits
    ("bool_dealloc: deallocating True or False").
    """
    import PySide6

    from composer.errors import ComposerError

    if tuple(PySide6.__version_info__[:3]) == (6, 12, 0) and sys.version_info < (3, 12):
        raise ComposerError(
            "PySide6 6.12.0 crashes on Python < 3.12 (a reference-count bug in Signal.emit): "
            "pip install 'PySide6-Essentials!=6.12.0'"
        )


def process_age() -> float:
    """Seconds since this process started (Linux: from /proc; elsewhere: since composer.app.app was
    imported)."""
    try:
        import os

        ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])
        uptime = float(open("/proc/uptime").read().split()[0])
        return uptime - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - T0


def run(
    path: str | None = None,
    screenshot: str | None = None,
    quit_after_compose: bool = False,
    audio: bool = True,
    compose_seed: int | None = None,
    model: str | None = None,
) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from composer.app import termination
    from composer.app.mainwindow import MainWindow
    from composer.app.style import STYLE

    check_qt()

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Composer")
    app.setOrganizationName("Composer")
    app.setStyle("Fusion")
    app.setStyleSheet(STYLE)
    from functools import partial

    from composer.app.mainwindow import load_sampler

    window = MainWindow(audio=audio, sampler_loader=partial(load_sampler, model))
    window.show()
    uninstall = termination.install(app, window)
    app.processEvents()
    times = {"window": process_age()}

    if path:
        window.open_file(path)
    elif not screenshot:
        QTimer.singleShot(0, window.offer_recovery)

    if screenshot:
        import tempfile

        # a scripted run: the user's autosave (a crashed session's work) is left alone
        scratch = tempfile.TemporaryDirectory(prefix="composer-screenshot-")
        window.autosave_path = Path(scratch.name) / "autosave.json"
        window.resize(1280, 780)  # the documented size, whatever size was saved last time
        if compose_seed is not None:
            window.compose_panel.seed.setValue(compose_seed)
        window.compose_panel.set_mode("generate")
        window.compose_panel.variations.setValue(3)
        window.faults_toggle.setChecked(True)

        def composed() -> None:
            times["composed"] = process_age()
            # the score view engraves the new piece on a worker: shoot once it is shown
            window.score_view.engraved.connect(lambda: QTimer.singleShot(300, save))
            QTimer.singleShot(6000, save)

        def fail(message: str, title: str = "Composer") -> None:  # replaces the error dialog
            print(f"composer: error: {' '.join(str(message).split())}", file=sys.stderr)
            window.doc.dirty = False
            window.close()
            app.exit(2)

        window.show_error = fail

        def save() -> None:
            if times.get("saved"):
                return
            times["saved"] = process_age()
            window.doc.select(None)
            window._on_position(float(window.doc.piece.steps_per_bar * 2 + 6))
            app.processEvents()
            try:
                save_image(window.grab(), screenshot)
            except ComposerError as e:
                fail(f"screenshot: {e}")
                return
            print(
                f"window shown after {times['window']:.2f} s; chorale on the roll after "
                f"{times['composed']:.2f} s (cold start); screenshot: {screenshot}"
            )
            if quit_after_compose:
                window.doc.dirty = False
                window.close()

        window.composed.connect(composed)
        window.compose()
    try:
        return app.exec()
    finally:
        uninstall()


def save_image(pixmap, path: str) -> None:
    """Save a QPixmap as PNG (or JPEG, BMP by the suffix) through composer.fileio, so the
    target is respected and a failure is a ComposerError naming the file."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    from composer.fileio import write_bytes_atomic

    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP"}.get(Path(path).suffix.lower(), "PNG")
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    if not pixmap.save(buffer, fmt):
        raise ComposerError(f"cannot encode the window as {fmt} for {path}")
    buffer.close()
    write_bytes_atomic(path, bytes(data.data()))


def has_display() -> bool:
    """Whether a window can be shown: always on Windows and macOS; elsewhere when DISPLAY or
    WAYLAND_DISPLAY is set."""
    import os

    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


NO_PYSIDE = "the desktop app needs PySide6: pip install 'chorale-composer[app]'"


def window_problem() -> str | None:
    """Why no window can be opened here (no PySide6, no display Qt can open), or None. Asked
    before Qt is loaded: Qt aborts the process when its display cannot be opened
    (composer.app.display)."""
    import importlib.util

    if importlib.util.find_spec("PySide6") is None:
        return NO_PYSIDE
    from composer.app.display import display_problem

    return display_problem()


def preflight() -> None:
    """Raise ComposerError, saying what to do, when the app cannot start here: no PySide6, or no
    display Qt can open (unset, unreachable, or a platform plugin that cannot load). Qt itself
    is not imported."""
    from composer.errors import ComposerError

    problem = window_problem()
    if problem == NO_PYSIDE:
        raise ComposerError(problem)
    if problem:
        raise ComposerError(
            f"no display to open the app on ({problem}): run it in a desktop session, or "
            "compose without one: composer start --no-gui"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The app's options, for ``composer gui`` and ``python -m composer.app`` alike (each checked
    by its composer.limits type)."""
    from composer import limits

    parser.add_argument("file", nargs="?", type=limits.NAME_OPTION,
                        help="a MIDI or MusicXML file (four voices or a melody)")  # fmt: skip
    parser.add_argument(
        "--screenshot",
        type=limits.IMAGE_OPTION,
        metavar="PNG",
        help="compose a chorale at start and save a screenshot of the window",
    )
    parser.add_argument(
        "--quit-after-compose",
        action="store_true",
        help="with --screenshot: quit once the screenshot is saved",
    )
    parser.add_argument("--seed", type=limits.option(limits.SEED), default=None,
                        help="seed for the --screenshot compose")  # fmt: skip
    parser.add_argument("--model", type=limits.NAME_OPTION,
                        help="model bundle folder (default: models/bach-satb)")  # fmt: skip
    parser.add_argument(
        "--no-audio", action="store_true", help="do not open the audio device (MIDI ports only)"
    )


def run_args(args: argparse.Namespace) -> int:
    """Start the app with the options of ``add_arguments`` (after ``preflight``)."""
    preflight()
    return run(args.file, args.screenshot, args.quit_after_compose, audio=not args.no_audio,
               compose_seed=args.seed, model=args.model)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """``python -m composer.app``: the same as ``composer gui``."""
    from composer.errors import ComposerError

    parser = argparse.ArgumentParser(
        prog="python -m composer.app", description="Composer's desktop app"
    )
    add_arguments(parser)
    try:
        return run_args(parser.parse_args(argv))
    except ComposerError as e:
        print(f"composer: error: {e}", file=sys.stderr)
        return e.exit_code
