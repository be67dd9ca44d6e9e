"""Errors the web API answers with: an HTTP status and one line for the user."""


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message
