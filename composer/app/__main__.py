"""``python -m composer.app [FILE.mid]``: start the app (same as ``composer gui``)."""

import sys

from composer.app.app import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
