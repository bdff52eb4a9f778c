"""Composer's desktop app (PySide6): a piano roll, composing panels, playback and export.

``composer gui [FILE.mid]`` or ``python -m gui`` starts it. The document model
(gui.document) and the file and compose jobs (gui.files, gui.compose) are plain Python; the
views (gui.pianoroll, gui.panels, gui.mainwindow) draw them; gui.workers runs core calls off
the GUI thread; gui.player adapts composer.realtime.playback to Qt.
"""
