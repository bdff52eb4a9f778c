"""The window's settings between runs, in its QSettings: window geometry, the Compose panel's
settings, the mixer's programs and the faults toggle. Read when the window is built, written
when it shuts down. (The recent files and last folder are composer.app.file_actions'; the MIDI
output is saved when chosen.)
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QCheckBox, QWidget

from composer import limits
from composer.app.compose import ComposeParams
from composer.app.panels import ComposePanel, MixerPanel
from composer.errors import ComposerError


def restore_settings(settings: QSettings, window: QWidget, compose_panel: ComposePanel,
                     mixer: MixerPanel, faults_toggle: QCheckBox) -> None:  # fmt: skip
    """Apply the saved settings to the window and its panels (a first run gets a 1280 x 780
    window)."""
    s = settings
    geom = s.value("geometry")
    if geom is not None:
        window.restoreGeometry(geom)
    else:
        window.resize(1280, 780)
    params = s.value("params")
    if isinstance(params, dict):
        try:
            fields = {f.name for f in dataclasses.fields(ComposeParams)}
            params = upgrade(dict(params), int(s.value("params_version", 1)))
            p = ComposeParams(**{k: v for k, v in params.items() if k in fields})
            p.time_signature = tuple(int(x) for x in p.time_signature)
            check_params(p)
            compose_panel.set_params(p)
        except (TypeError, ValueError, OverflowError, ComposerError):
            pass  # settings from another version, or damaged: the panel keeps its defaults
    programs = s.value("programs")
    if isinstance(programs, list) and len(programs) == 4:
        try:
            mixer.set_programs([int(p) for p in programs])
        except (TypeError, ValueError, OverflowError):
            pass
    faults_toggle.setChecked(s.value("faults", False, type=bool))


PARAMS_VERSION = 2  # 2: temperature 0.9 and 32 candidates (measured in bench/harmony.py)
# The defaults each earlier version saved: a saved value equal to one was never chosen by hand.
OLD_DEFAULTS = {1: {"temperature": 1.0, "particles": 16}}


def upgrade(params: dict, version: int) -> dict:
    """Saved Compose settings from an earlier version, with the values that were that version's
    defaults moved to today's (the music they give has been measured better); values the user
    chose stay."""
    today = ComposeParams()
    for v in range(version, PARAMS_VERSION):
        for name, old in OLD_DEFAULTS.get(v, {}).items():
            if params.get(name) == old:
                params[name] = getattr(today, name)
    return params


def check_params(p: ComposeParams) -> None:
    """SettingError unless every number of ``p`` is in the range composer.limits gives it (the
    ranges the command line accepts)."""
    checks = ((p.bars, limits.BARS), (p.tempo, limits.TEMPO), (p.seed, limits.SEED),
              (p.temperature, limits.TEMPERATURE), (p.top_p, limits.TOP_P),
              (p.variations, limits.VARIATIONS), (p.particles, limits.PARTICLES))  # fmt: skip
    for value, r in checks:
        r.check(value)
    if p.pickup is not None:
        limits.PICKUP.check(p.pickup)
    limits.check_time_signature(*p.time_signature)


def save_settings(settings: QSettings, window: QWidget, compose_panel: ComposePanel,
                  mixer: MixerPanel, faults_toggle: QCheckBox) -> None:  # fmt: skip
    """Write the window's and its panels' settings and flush them to disk."""
    s = settings
    s.setValue("geometry", window.saveGeometry())
    s.setValue("params", dataclasses.asdict(compose_panel.params()))
    s.setValue("params_version", PARAMS_VERSION)
    s.setValue("programs", mixer.programs())
    s.setValue("faults", faults_toggle.isChecked())
    s.sync()
