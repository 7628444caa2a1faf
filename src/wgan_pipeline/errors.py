"""The project's refusals: errors about the user's input or machine whose message says all that
is needed (what is wrong, what to do, that nothing was lost). ``kedro run`` prints such a message
alone, without a traceback, and exits with 1 (cli.run); any other error keeps its traceback."""


class Refused(Exception):  # noqa: N818 (a refusal, not a failure of the code)
    """A run refused for a reason its message names."""
