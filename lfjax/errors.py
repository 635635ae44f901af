"""Domain errors: mistakes in what a user gave lfjax (an ion, parameters, a file, a config...).

The command line shows exactly these as one line `error: ...` and exits with code 2; any other
exception is a bug and keeps its traceback (exit code 1). Each subclasses `ValueError` so library
callers may catch them either way. Nothing here imports JAX.
"""

from __future__ import annotations


class LfjaxError(ValueError):
    """Base class: a user-facing mistake whose message says what was expected and the fix."""


class IonError(LfjaxError):
    """An ion name or (J, g) that lfjax cannot use."""


class ParameterError(LfjaxError):
    """A parameter dictionary, name, preset or prior that lfjax cannot use."""


class ReaderError(LfjaxError):
    """A measurement file or measurement-set description that cannot be read as asked."""


class ConfigError(LfjaxError):
    """A training, evaluation or measurement-set configuration that is invalid."""


class CheckpointError(LfjaxError):
    """A checkpoint or trained-model folder that is missing, incomplete or incompatible."""


class ModelMismatchError(LfjaxError):
    """Data that a trained model cannot serve (other ion, temperatures out of range, ...)."""


class UserInputError(LfjaxError):
    """Any other mistake in command-line input (conflicting flags, bad output folder, ...)."""
