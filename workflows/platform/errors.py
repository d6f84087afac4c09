"""Errors a person can act on. Each message names what is wrong; the caller rolls back."""


class WorkflowError(Exception):
    """Base: something about the request cannot be done."""


class NotFound(WorkflowError):
    """No such thing, or not one the actor may see (restricted records answer the same)."""


class NotAllowed(WorkflowError):
    """The actor may see it but may not do this to it."""


class Conflict(WorkflowError):
    """Someone else changed the case first; nothing of this request was saved."""


class FormInvalid(WorkflowError):
    """Form values that fail validation, keyed by field id."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


class StepFailed(WorkflowError):
    """The diagram could not advance (an expression or action failed); names the element."""
