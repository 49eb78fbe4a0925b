"""Processes: the process table, selection, signals and reaping, teardown, cgroups, requests."""
