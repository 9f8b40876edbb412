"""The one error type Trident raises for bad input, and its message format."""


class TridentError(Exception):
    """A problem with the user's input: says what is wrong, where, and what to do.

    The command line prints these without a traceback.
    """


def fail(problem, fix, **received):
    """Raise a `TridentError` whose message ends with `Received: key=value`.

    Args:
        problem: str, what is wrong and where (a file, a value).
        fix: str, what the user should do about it.
        **received: the offending values, shown at the end of the message.
    """
    message = f"{problem.rstrip('.')}. {fix.rstrip('.')}."
    if received:
        shown = ", ".join(f"{key}={value!r}" for key, value in received.items())
        message += f" Received: {shown}"
    raise TridentError(message)
