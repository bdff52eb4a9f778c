"""Composer: four-part chorales in the style of J. S. Bach.

Data flow (one module per arrow)::

    MIDI file --midi_io--> Score --encoding--> tokens --dataset--> batches --train--> checkpoint
    checkpoint --export--> bundle --sampler (numba kernels)--> Score
    Score --> midi_io (file) | synth (audio) | playback/live (MIDI ports) | gui

Nothing here imports Qt; nothing after ``export`` imports torch.
"""

__version__ = "0.1.0"
