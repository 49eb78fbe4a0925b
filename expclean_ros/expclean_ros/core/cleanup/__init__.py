"""Cleanup: step results, steps, plans and their one-line summaries."""
