"""Sound: ``synth`` (FluidSynth in-process: WAV rendering and a live synth that takes MIDI
messages like a port).

May import: composer.score and the bottom utilities (and pyfluidsynth, numpy).
"""
