"""Benchmarks of the plugins, one module each: `python -m benchmarks.plugins.NAME`."""
