"""Runs: run tags and tagged starts, the run table, the sequencer and its ledger."""
