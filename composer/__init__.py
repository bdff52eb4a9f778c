"""Composer: four-part chorales in the style of J. S. Bach.

Data flow (one package per stage)::

    MIDI file --midi--> Score --encoding--> tokens --train.dataset--> batches --train.loop-->
    checkpoint --train.bundle_writer--> bundle --runtime (numba kernels)--> Score
    Score --> midi (file) | audio (WAV) | notation (MusicXML) | realtime (MIDI ports) | app (Qt)

Only composer.app imports Qt; only composer.train imports torch (pyproject.toml's import
contracts, checked by tests/test_layering.py).
"""

__version__ = "0.1.0"
