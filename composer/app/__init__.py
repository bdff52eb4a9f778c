"""Composer's desktop app (PySide6): a piano roll, composing panels, playback and export.

``composer gui [FILE.mid]`` or ``python -m composer.app`` starts it. The document model
(composer.app.document) and the file and compose jobs (composer.app.files, composer.app.compose;
export is composer.export) are plain Python; the views (composer.app.pianoroll,
composer.app.scoreview, composer.app.panels, composer.app.live_panel, composer.app.mainwindow,
composer.app.style) draw them; the controllers (composer.app.file_actions,
composer.app.recovery, composer.app.settings) are given the document, the runner and the settings
and answer through signals; composer.app.workers runs core calls off the GUI thread;
composer.app.player adapts composer.realtime.playback to Qt. Start-up: composer.app.app,
composer.app.display (can a window open?), composer.app.termination (signals close the window),
composer.app.autosave_check (a session checked before it is offered), composer.app.screenshot.

The only package that imports Qt. May import everything below it (realtime, audio, notation,
reports, runtime, midi, ...), never composer.train or composer.cli.
"""
