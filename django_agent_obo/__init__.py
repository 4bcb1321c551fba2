"""django-agent-obo: on-behalf-of user authorization for AI agents on django-oauth-toolkit."""

__version__ = "0.1.0"
