"""Where the repository is (every path of the local stack starts here)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
