"""Doctor: what works on this machine, and what a plan needs."""

#: Checks each plan needs to be ``works`` (see also ``need`` in ``diagnose.diagnose``):
#: every plan reads memory (settling, the report); comprehensive and between-runs
#: plans tear processes down, which reads the process table and environments.
#: drop_caches, GPUs and cgroups are optional: when missing their step is skipped.
PLAN_NEEDS = {
    'quick': ('memory',),
    'comprehensive': ('memory', 'process_table'),
    'between_runs': ('memory', 'process_table'),
}
