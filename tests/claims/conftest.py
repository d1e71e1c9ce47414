"""Claim tests reuse the filled SATUSEHAT example shapes of tests/profiles/satusehat_examples.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "profiles"))
