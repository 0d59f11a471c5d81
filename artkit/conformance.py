"""Conformance checks: does a registered component keep artkit's contracts?

One check per kind of component, each taking the registry name (so it checks what
``artkit`` itself would load, through the same registry): :func:`check_model`,
:func:`check_loss`, :func:`check_postprocessor`, :func:`check_dataset` and
:func:`check_extractor`. A broken rule raises :class:`ConformanceError` (an
``AssertionError``, so pytest shows it as a test failure) whose message names the
component and the rule: ``post-processor 'glitch': modified its input image in place``.

artkit's own suite runs every check over every registered component
(``tests/test_conformance.py``); plugin authors get the same checks through
:mod:`artkit.testing`.

Entries may declare small settings for the checks when they register, so a check
stays quick and needs no files the author does not ship:

- models: ``test_config={...}`` (a small configuration), ``test_data="shapes:count=8"``
  (the dataset a trainable model trains on for two steps);
- post-processors: ``test_params={...}`` (options a step needs), ``keeps_size=True``
  (a promise that the output has the input's size);
- datasets: ``test_params={...}`` and ``test_channels=(1, 3)`` (the channel counts to try);
- extractors: ``test_params={...}``.

Values may name throwaway files the check writes first: ``"{tiny_image}"`` (one
small picture) and ``"{tiny_folder}"`` (a folder of four); or ``test_params`` may be
a callable ``f(scratch: Path) -> dict`` that writes what it needs into ``scratch``.

Imports torch inside the checks only.
"""

from artkit.checks.common import ConformanceError
from artkit.checks.components import (
    check_dataset,
    check_extractor,
    check_loss,
    check_postprocessor,
)
from artkit.checks.models import check_model

__all__ = [
    "ConformanceError",
    "check_dataset",
    "check_extractor",
    "check_loss",
    "check_model",
    "check_postprocessor",
]
