# Testigo's one image: web (gunicorn), worker, beat and the migrate job (docker-compose.yml).
# Nothing secret is in it: .dockerignore keeps out .git, .venv, var/ (a developer's
# database, keys and quarantine) and secrets/, and the build runs Django with throw-away
# placeholder keys, failing if anything was written under var/secrets/. Keys come at run
# time from the *_FILE variables (compose secrets).
FROM python:3.13.9-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext libimage-exiftool-perl ffmpeg \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock ./
# Exactly the locked versions: the build fails if uv.lock does not match pyproject.toml.
RUN uv sync --locked --no-dev --no-install-project
COPY . .
# Static files and translations with placeholder keys (never used to seal anything), then
# proof that no key was generated into the image.
RUN DJANGO_SECRET_KEY=build-only-placeholder TESTIGO_QUARANTINE_KEY=build-only-placeholder \
    TESTIGO_CONTACT_KEY=build-only-placeholder \
    sh -c 'python manage.py collectstatic --noinput \
    && python manage.py compilemessages --ignore=/opt/venv \
    && test ! -e var/secrets'
RUN useradd --system --uid 10001 --home-dir /app testigo && chown testigo /app/var
USER testigo
EXPOSE 8000
# /healthz answers any Host over plain HTTP (reports/health.py); worker and beat override it.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=5)"]
CMD ["gunicorn", "-c", "config/gunicorn.py", "--bind", "0.0.0.0:8000"]
