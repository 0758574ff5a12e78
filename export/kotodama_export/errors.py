"""The one error type the CLI turns into a single readable line and a non-zero exit code."""


class ExportError(Exception):
    """A problem the user can fix; the message says what to fix.

    exit_code: 2 for bad arguments or input files, 3 for an output that cannot be written,
    4 for a verification past its tolerances.
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
