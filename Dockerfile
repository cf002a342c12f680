FROM python:3.13-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext libimage-exiftool-perl ffmpeg \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN DJANGO_SECRET_KEY=build TESTIGO_QUARANTINE_KEY=build python manage.py collectstatic --noinput \
    && DJANGO_SECRET_KEY=build TESTIGO_QUARANTINE_KEY=build python manage.py compilemessages --ignore=/opt/venv
RUN useradd --system --uid 1000 testigo && mkdir -p /app/var && chown testigo /app/var
USER testigo
CMD ["gunicorn", "-c", "config/gunicorn.py", "--bind", "0.0.0.0:8000"]
