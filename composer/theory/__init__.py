"""Music theory without a model: phrase plans (fermatas), meters, melody range, key estimation,
harmony analysis (chords, cadences, non-chord tones: ``harmony``, ``harmony_figures``).

May import: composer.score, composer.errors (and numpy). Nothing here knows the model, MIDI files
or the runtime.
"""
