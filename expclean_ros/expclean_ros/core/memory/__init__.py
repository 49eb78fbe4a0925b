"""Memory: RAM and GPU probes, settling, DDS shared memory."""
