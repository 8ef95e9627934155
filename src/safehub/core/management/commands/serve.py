import os
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the production web server (gunicorn, static files through WhiteNoise)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("SAFEHUB_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("SAFEHUB_WEB_WORKERS", 2 * (os.cpu_count() or 1))),
        )
        parser.add_argument(
            "--threads", type=int, default=int(os.environ.get("SAFEHUB_WEB_THREADS", "1"))
        )
        parser.add_argument(
            "--worker-class",
            choices=["gthread", "sync"],
            default=os.environ.get("SAFEHUB_WEB_WORKER_CLASS", "sync"),
            help="sync (default; measured fastest here, for use behind a proxy): one request at a "
            "time per worker; gthread: --threads per worker, with keep-alive.",
        )
        parser.add_argument("--no-collectstatic", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "safehub.wsgi:application",
            "--bind",
            options["bind"],
            "--workers",
            str(options["workers"]),
            "--threads",
            str(options["threads"]),
            "--worker-class",
            options["worker_class"],
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "20",
            "--timeout",
            "60",
        ]
        sys.stdout.flush()
        # Replace this process, so that signals reach gunicorn's master directly.
        os.execv(sys.executable, argv)  # noqa: S606 (the argument list is ours)
