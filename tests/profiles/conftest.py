"""Fixtures for the profile tests: SATUSEHAT example shapes with realistic values (satusehat_examples.py)."""
