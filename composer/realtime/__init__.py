"""Playing in time: ``clock`` (injected clocks; MIDI clock follow), ``playback`` (the scheduler
that sends each step's notes at its time), ``ports`` (MIDI ports through mido/rtmidi), ``live``
(live play and the harmonizer through ports), ``jack_live`` (the harmonizer as a JACK client).

May import: composer.runtime (the stream and harmonizer's chords), composer.audio (the built-in
synth as an output), composer.score and the bottom utilities. Never torch, never Qt.
"""
