"""
Cleanup: step results, steps, plans and their one-line summaries.

The plan names live here, so that naming a plan (the command line does) imports nothing.
"""

#: The plans a cleanup node runs on request.
PLANS = ('quick', 'comprehensive')
