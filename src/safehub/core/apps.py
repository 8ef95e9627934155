import logging

from django.apps import AppConfig


class TemplateDebugFilter(logging.Filter):
    """Drops django.template's DEBUG records. At DEBUG, Django logs every variable a template
    does not find with the whole template context: on a contact page, the notification
    (addresses, safe phone numbers, NHS numbers). A filter rather than a level, because
    configuring logging again (a second `django.setup()`) resets the levels of loggers the
    configuration does not name."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO


class CoreConfig(AppConfig):
    name = "safehub.core"
    label = "core"

    def ready(self) -> None:
        from django.core import checks

        from safehub.core.retention.rules import retention_check

        checks.register(retention_check)
        template_log = logging.getLogger("django.template")
        if not any(isinstance(f, TemplateDebugFilter) for f in template_log.filters):
            template_log.addFilter(TemplateDebugFilter())
