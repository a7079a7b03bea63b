"""The deployment checkers live in tools/deploy/ and tools/contracts/ as plain modules: make them importable."""

import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[2] / "tools"
for folder in (TOOLS / "contracts", TOOLS / "deploy"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
