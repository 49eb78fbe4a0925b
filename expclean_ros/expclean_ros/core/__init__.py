"""
expclean core: plain Python, no rclpy or launch.

Grouped by what flows through it: ``procs`` (which processes, and stopping
them), ``memory`` (probes, GPUs, settling, DDS shared memory), ``cleanup``
(steps and plans, each step a :class:`~.cleanup.results.StepResult`), ``runs``
(run tags, tagged starts, the sequencer and its ledger), ``report`` (a batch
report from ledgers: figures and verdicts) and ``doctor``.
Nothing here prints.
"""
