"""Make at_sim importable before the package is pip-installed (./jesh installs it editable)."""

import sys
from pathlib import Path

try:
    import at_sim  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
