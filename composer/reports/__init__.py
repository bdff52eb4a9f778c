"""Figures about chorales: ``metrics`` (voice-leading figures of one Score), ``report``
(the report over many, as Markdown, JSON and plots), ``harmony`` (the report's harmony section
and plots), ``quality`` (generated chorales beside Bach's).

May import: composer.runtime (to compose the pieces it measures), composer.corpus,
composer.score and the bottom utilities. Never torch.
"""
