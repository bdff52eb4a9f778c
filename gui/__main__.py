"""``python -m gui [FILE.mid]``: start the app (same as ``composer gui``)."""

import sys

from gui.app import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
