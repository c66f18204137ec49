"""The pytest plugin: hooks, the controlling process, fixtures, and what tests need.

pytest loads :mod:`conformance.plugin.hooks` (the ``pytest11`` entry point).
"""
