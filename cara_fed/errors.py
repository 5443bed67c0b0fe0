"""The typed errors services raise. The web layer turns each into ``{"error": message}`` with its status;
the CLI prints the message as one line and exits non-zero."""

from __future__ import annotations


class CaraError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(CaraError):
    status = 422


class NotFound(CaraError):
    status = 404


class Conflict(CaraError):
    status = 409


class Forbidden(CaraError):
    status = 403


class Gone(CaraError):
    status = 410
