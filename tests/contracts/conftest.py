"""The contract checkers live in tools/contracts/ as plain modules: make them importable here."""

import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "contracts"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))
