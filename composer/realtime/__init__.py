"""Playing in time: ``clock`` (injected clocks; MIDI clock follow), ``playback`` (the scheduler
that sends each step's notes at its time), ``ports`` (MIDI ports through mido/rtmidi),
``harmonizer`` (the live harmonizer's state machine, no clock, no ports), ``live`` (live play and
the harmonizer through ports), ``jackio`` (what the JACK clients share), ``jack_live`` (the
harmonizer as a JACK client), ``jack_stream`` (the stream as a JACK client, every note at its
frame), ``sync`` (timelines: a tempo, Ableton Link, JACK transport, MIDI clock).

May import: composer.runtime (the stream and harmonizer's chords), composer.audio (the built-in
synth as an output), composer.score and the bottom utilities. Never torch, never Qt.
"""
