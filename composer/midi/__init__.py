"""MIDI files in and out: ``read_midi(path) -> Score`` and ``write_midi(score, path)``.

One module per stage of reading: ``read`` (bytes -> chunks -> mido events per track),
``events`` (notes paired in ticks), ``voices`` (parts -> voices), ``bars`` (the meter, the
pickup, and the changes Composer cannot keep), ``report`` (what reading changed), ``io``
(quantization to 16th steps -> Score; the entry points); ``write`` (Score -> type 1 file).

May import: composer.score, composer.errors, composer.fileio (and mido, numpy).
"""

from composer.midi.io import read_midi, read_midi_data, read_midi_report
from composer.midi.report import ReadReport
from composer.midi.write import score_to_midifile, write_midi

__all__ = [
    "ReadReport",
    "read_midi",
    "read_midi_data",
    "read_midi_report",
    "score_to_midifile",
    "write_midi",
]
