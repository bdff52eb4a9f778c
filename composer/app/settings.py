"""The window's settings between runs, in its QSettings: window geometry, the Compose panel's
settings, the mixer's programs and the faults toggle. Read when the window is built, written
when it shuts down. (The recent files and last folder are composer.app.file_actions'; the MIDI
output is saved when chosen.)
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from composer.app.compose import ComposeParams

if TYPE_CHECKING:
    from composer.app.mainwindow import MainWindow


def restore_settings(window: MainWindow) -> None:
    """Apply the saved settings to ``window`` (a first run gets a 1280 x 780 window)."""
    s = window.settings
    geom = s.value("geometry")
    if geom is not None:
        window.restoreGeometry(geom)
    else:
        window.resize(1280, 780)
    params = s.value("params")
    if isinstance(params, dict):
        try:
            fields = {f.name for f in dataclasses.fields(ComposeParams)}
            p = ComposeParams(**{k: v for k, v in params.items() if k in fields})
            p.time_signature = tuple(int(x) for x in p.time_signature)
            window.compose_panel.set_params(p)
        except (TypeError, ValueError):
            pass
    programs = s.value("programs")
    if isinstance(programs, list) and len(programs) == 4:
        window.mixer.set_programs([int(p) for p in programs])
    window.faults_toggle.setChecked(s.value("faults", False, type=bool))


def save_settings(window: MainWindow) -> None:
    """Write ``window``'s settings and flush them to disk."""
    s = window.settings
    s.setValue("geometry", window.saveGeometry())
    s.setValue("params", dataclasses.asdict(window.compose_panel.params()))
    s.setValue("programs", window.mixer.programs())
    s.setValue("faults", window.faults_toggle.isChecked())
    s.sync()
