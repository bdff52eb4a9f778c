"""Scores for musicians: MusicXML in and out.

``musicxml`` writes a Score as MusicXML (spelled from the key by ``spelling``, rhythms tied and
beamed by the meter by ``rhythm``); ``read`` reads MIDI or MusicXML files into a Score (MusicXML
through music21, imported only for MusicXML); ``check`` counts what a MusicXML file shows
(accidentals written and needed, fermatas, pickup); ``engrave`` draws a Score as notation (SVG,
through verovio) for the app's score view.

May import: composer.midi, composer.theory, composer.score and the bottom utilities (and
music21, only inside ``read``'s MusicXML path).
"""
