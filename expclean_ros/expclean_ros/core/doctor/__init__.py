"""Doctor: what works on this machine, and what a plan needs."""
