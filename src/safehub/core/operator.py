"""Who ran a management command, as the audit log names them."""

import getpass


def command_line_operator() -> str:
    """`command line (<login name>)`: the audit log's actor for acts done at the console."""
    try:
        return f"command line ({getpass.getuser()})"
    except (KeyError, OSError):
        return "command line"
