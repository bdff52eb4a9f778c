"""The boundaries, as import contracts (pyproject.toml, [tool.importlinter]): the layers (cli >
app > realtime | reports | train > audio | notation > runtime | corpus > midi | encoding | theory
> score ...), torch only in composer.train, Qt only in composer.app, no import cycles.

import-linter reads every import in composer/ (inside functions and under TYPE_CHECKING too) and
fails on any that breaks a contract; a module renamed or added outside every layer breaks the
layers contract (it is exhaustive), so nothing passes by being missed.
"""

import re
from pathlib import Path

from importlinter.cli import lint_imports

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_import_contracts_are_kept(capsys):
    status = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert status == 0, report
    kept = re.search(r"Contracts: (\d+) kept, 0 broken", report)
    assert kept and int(kept.group(1)) >= 5, report  # none of the five dropped from pyproject
