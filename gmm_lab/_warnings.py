"""Warnings that point at the user's line, however deep in gmm_lab they start."""

from __future__ import annotations

import os
import sys
import warnings

_PACKAGE_DIRECTORY = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _inside_package(frame) -> bool:
    return os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIRECTORY)


def warn(message, category) -> None:
    """``warnings.warn`` with the stacklevel of the first frame outside gmm_lab.

    A warning raised in the EM loop is reported at the line of the user's
    code that called ``em`` (or iterated over it), ``run_em`` or ``fit``,
    whichever way it got there, as pandas does with ``find_stack_level``.
    """
    level = 2  # 1 is this function, 2 its caller
    frame = sys._getframe(1)
    while frame is not None and _inside_package(frame):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
