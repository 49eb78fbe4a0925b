"""
Batch reports.

What a ledger's runs did, judged (drift, runs not back, escaped processes, outliers). Plain Python;
rendering (HTML, text, JSON) is the CLI's.
"""

from .build import Report, build_report
from .fields import RunView
from .source import LedgerFile, read_for_report
from .verdicts import Verdict

__all__ = ['Report', 'build_report', 'RunView', 'LedgerFile', 'read_for_report', 'Verdict']
