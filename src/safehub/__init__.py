"""safehub: the front door of a Multi-Agency Safeguarding Hub."""

__version__ = "0.1.0"
