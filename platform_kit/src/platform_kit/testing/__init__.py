"""Test support shared by every service's suite (a pytest plugin, loaded in pyproject)."""
