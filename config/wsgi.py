"""The WSGI application gunicorn serves."""

import os

from django.core.wsgi import get_wsgi_application

from config.logging_filters import gunicorn_logs_redact

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# gunicorn's loggers do not propagate to Django's handlers: give them the same redaction.
gunicorn_logs_redact()
