"""The root of every error meant for the person running the command.

Each module defines one subclass per failure kind; `__main__` turns any of them into a
`pulumi.RunError`, so a user mistake prints its message and no stack trace.
"""


class ClerkHasuraError(Exception):
    """A failure the user can act on; its message names the setting, what was wrong and the fix."""
