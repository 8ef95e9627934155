"""What tests share: the spec's example bodies, the personas' password, a real SMTP server."""

import json
from pathlib import Path
from typing import Any

# The contract's example bodies. The project keeps a copy beside its contract tests, so that a
# clone runs its tests anywhere; a test checks the copy against `../shared/spec` where it exists.
SHARED_EXAMPLES_DIR = Path(__file__).resolve().parents[4] / "shared" / "spec" / "examples"
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "intake" / "tests" / "contract_examples"
PASSWORD = "correct horse battery staple"


def example_bytes(name: str) -> bytes:
    return (EXAMPLES_DIR / name).read_bytes()


def example(name: str) -> dict:
    return json.loads(example_bytes(name))


class SmtpSink:
    """A real SMTP server on localhost that keeps what it receives."""

    def __init__(self) -> None:
        import socket

        from aiosmtpd.controller import Controller

        self.messages: list = []
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._controller_class = Controller
        self.controller: Any = None

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        # A stopped controller cannot start again: each start is a new server on the same port.
        self.controller = self._controller_class(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def migrate_to(targets: list[tuple[str, str]]) -> Any:
    """Migrate the test database to `targets` (app, migration), forwards or backwards; the
    executor, whose loader gives the project state there. A test that moves the schema runs
    with `django_db(transaction=True)` and migrates to the graph's leaves again when done."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor
