"""The errors a user can cause, each with a message that says what was wrong and what to do.

The CLI prints ``str(error)`` on one line and exits non-zero; the GUI shows it in a dialog.
Anything else that escapes is a bug.
"""

from __future__ import annotations


class ComposerError(Exception):
    """Base class for every error Composer reports to a user."""

    exit_code = 2


class MidiFileError(ComposerError):
    """A MIDI file that cannot be read: broken, hostile, or with no usable music."""


class ScoreError(ComposerError):
    """A Score whose contents are invalid (bad pitch, HOLD after a rest, wrong shape)."""


class ModelError(ComposerError):
    """A model bundle or checkpoint that is missing, unsafe or inconsistent."""


class DataError(ComposerError):
    """A corpus or data set that is missing or malformed."""


class GenerationError(ComposerError):
    """Generation settings that cannot be met (bad key, melody out of range, bad bar range)."""


class PortError(ComposerError):
    """A MIDI port or MIDI system that cannot be used."""


class AudioError(ComposerError):
    """The synth or audio output cannot be used (no FluidSynth, no soundfont, no device)."""


class ExportError(ComposerError):
    """A file format that cannot be written (e.g. MusicXML without music21)."""


class Cancelled(GenerationError):
    """A job that stopped because it was asked to (its ``cancel()`` callback returned True).

    Not a failure to report: the app shows "cancelled" in the status bar, not an error dialog.
    A GenerationError, so callers that catch that still catch this.
    """

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)


class SettingError(ComposerError):
    """A setting out of its range: a command-line option, a value in the app's panel or in a
    saved session (composer.limits says what each accepts)."""
