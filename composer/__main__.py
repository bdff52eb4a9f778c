"""``python -m composer``: the same as the ``composer`` command."""

from composer.cli.main import main

raise SystemExit(main())
