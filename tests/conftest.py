"""Shared setup for the harness's offline tests: pytester, for running pytest inside pytest."""

pytest_plugins = ["pytester"]
