"""Domain errors. Every message is written to be shown to the user as it is."""


class CaseError(Exception):
    """A rule of the domain refused the request. Maps to HTTP 400 unless a subclass says otherwise."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class InvalidInput(CaseError):
    code = "invalid"


class Conflict(CaseError):
    """The request clashes with the current state (already exists, already decided, lease lost)."""

    status_code = 409
    code = "conflict"


class NotAllowed(CaseError):
    """The user is in the team but their role may not do this."""

    status_code = 403
    code = "forbidden"


class TooLarge(CaseError):
    """An uploaded artefact is over its size limit."""

    status_code = 413
    code = "file_too_large"


class HashMismatch(CaseError):
    """The SHA-256 the client computed is not the SHA-256 of the bytes that arrived."""

    code = "hash_mismatch"


class UnsupportedFile(CaseError):
    """A file is not what its field takes (decoded, not guessed from its name or claimed type)."""

    code = "unsupported_file"
