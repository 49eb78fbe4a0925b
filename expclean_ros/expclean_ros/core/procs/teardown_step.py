"""Teardown as a cleanup step (a :class:`~expclean_ros.core.cleanup.results.StepResult`)."""

from ..cleanup.results import FAILED, OK, StepResult
from .selection import Selection
from .teardown import teardown

__all__ = ['teardown_step']


def teardown_step(selection: Selection, name: str = 'teardown', **kwargs) -> StepResult:
    """
    :func:`teardown` as a cleanup step: ``ok`` when nobody is left, else ``failed``.

    ``data`` carries ``stopped``, ``left``, ``killed``, ``mechanism`` and
    ``processes`` (a list of dicts).
    """
    result = teardown(selection, **kwargs)
    status = OK if not result.left else FAILED
    return StepResult(name, status, result.summary(), result.seconds, result.as_dict())
