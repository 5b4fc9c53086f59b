"""Errors a user can cause and should read as one clear sentence, never a traceback.

Pages show ``str(error)``; the CLI prints it on one line and exits non-zero.
"""


class PodiumError(Exception):
    """Base class: the message is meant for the user as it is."""


class FilterError(PodiumError, ValueError):
    """A filter string MLflow's own parser rejects; the message is MLflow's explanation."""


class StoreError(PodiumError):
    """The tracking store could not be reached or read. The URI in the message is redacted."""

    def __init__(self, message: str, uri: str = ""):
        super().__init__(message)
        self.uri = uri


class NotFoundError(PodiumError, LookupError):
    """An experiment, metric, model or run the user named does not exist."""


class PermissionDeniedError(PodiumError, PermissionError):
    """MLflow refused the signed-in user (403/401). The message names what was missing."""
