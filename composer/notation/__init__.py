"""Scores for musicians: ``musicxml`` (MusicXML out, through music21).

May import: composer.score and the bottom utilities (and music21).
"""
