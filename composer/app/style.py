"""The app's look: a dark theme with one accent colour, readable at 1280x800."""

from __future__ import annotations

ACCENT = "#5b9cf0"

STYLE = f"""
QWidget {{ background: #262932; color: #dfe2ea; font-size: 10pt; }}
QMainWindow::separator {{ background: #1b1d23; width: 2px; height: 2px; }}
QMenuBar {{ background: #1b1d23; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: {ACCENT}; color: white; }}
QMenu {{ background: #2d313b; border: 1px solid #3b404c; }}
QToolBar {{ background: #1f2128; border: none; border-bottom: 1px solid #15171c; spacing: 4px; }}
QStatusBar {{ background: #1b1d23; color: #aab0bd; }}
QStatusBar QLabel {{ background: transparent; color: #aab0bd; padding: 0 6px; }}
QGroupBox {{ border: 1px solid #393e4a; border-radius: 6px; margin-top: 14px;
    padding: 8px 6px 6px 6px; font-weight: 600; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: #9fb4d8; }}
QLabel {{ background: transparent; }}
QLabel#hint {{ color: #8d94a3; font-size: 9pt; }}
QLabel#position {{ font-family: monospace; font-size: 11pt; color: #ffffff; }}
QComboBox, QSpinBox, QDoubleSpinBox, QListWidget {{
    background: #1d1f26; border: 1px solid #3b404c; border-radius: 4px; padding: 2px 4px; }}
QComboBox:disabled, QSpinBox:disabled {{ color: #6b7180; }}
QComboBox QAbstractItemView {{ background: #1d1f26; selection-background-color: {ACCENT}; }}
QListWidget::item {{ padding: 4px; }}
QListWidget::item:selected {{ background: #34507d; color: white; }}
QPushButton, QToolButton {{ background: #353a46; border: 1px solid #454b58; border-radius: 5px;
    padding: 4px 10px; }}
QPushButton:hover, QToolButton:hover {{ background: #3f4553; }}
QPushButton:checked, QToolButton:checked {{ background: {ACCENT}; color: white; }}
QToolButton#mute:checked {{ background: #c0504d; }}
QToolButton#solo:checked {{ background: #d9a431; color: #1d1f26; }}
QPushButton#primary {{ background: {ACCENT}; color: white; font-weight: 700; padding: 7px;
    border: none; }}
QPushButton#primary:hover {{ background: #72aaf5; }}
QPushButton#primary:disabled {{ background: #3c4a60; color: #9aa4b5; }}
QPushButton#transport {{ min-width: 70px; font-weight: 600; }}
QProgressBar {{ background: #1d1f26; border: none; border-radius: 3px; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}
QSlider::groove:horizontal {{ height: 4px; background: #3b404c; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: #cfd6e4; width: 12px; margin: -5px 0;
    border-radius: 6px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QScrollBar {{ background: #1d1f26; }}
QScrollBar::handle {{ background: #454b58; border-radius: 4px; min-width: 20px; min-height: 20px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QCheckBox {{ background: transparent; }}
QTabWidget::pane {{ border: none; }}
QTabBar::tab {{ background: #2d313b; padding: 5px 12px; border-top-left-radius: 4px;
    border-top-right-radius: 4px; }}
QTabBar::tab:selected {{ background: #3a4050; color: white; }}
QToolTip {{ background: #fdfdfd; color: #111; border: 1px solid #888; padding: 3px; }}
"""
