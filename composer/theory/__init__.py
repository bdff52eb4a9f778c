"""Music theory without a model: ``plan`` (phrase plans (fermatas), meters, a melody fitted to
the soprano's range, key estimation), ``voiceleading`` (parallel and contrary fifths and octaves,
ranges), ``cadence`` (cadences and endings, judged as a piece is written), ``counterpoint`` (a
harmony teacher's faults), ``harmony`` and ``harmony_figures`` (harmony analysis: chords,
cadences, non-chord tones; count-based figures).

May import: composer.score, composer.errors (and numpy). Nothing here knows the model, MIDI files
or the runtime.
"""
