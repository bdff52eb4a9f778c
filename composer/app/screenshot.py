"""Start the app in a real window, compose a chorale, save a screenshot, quit.

    xvfb-run -a -s "-screen 0 1280x800x24" python -m composer.app.screenshot docs/screenshot.png

Prints the cold-start figures: seconds until the window shows and until a composed chorale is
on the roll. Same as ``composer gui --screenshot PNG --quit-after-compose``.
"""

from __future__ import annotations

import sys

from composer.app.app import run

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "screenshot.png"
    sys.exit(run(None, screenshot=out, quit_after_compose=True, compose_seed=7))
