# One image for every process of Frontdesk (docs/deploy.md): the web server, the Celery workers and beat differ
# only by their command.
#   web:    gunicorn -c config/gunicorn.conf.py config.wsgi                  (the default command)
#   worker: celery -A config worker -Q default,messaging,voice -n fast@%h
#   heavy:  celery -A config worker -Q heavy -n heavy@%h --concurrency 1
#   beat:   celery -A config beat -s /tmp/celerybeat-schedule               (exactly one)
#   once per release, before the new web processes: python manage.py migrate --noinput
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

WORKDIR /app

# The wheels bundle what they need (psycopg-binary its libpq, av its FFmpeg); tini reaps the workers' children
# and passes SIGTERM on, so a stopped container shuts gunicorn and Celery down warmly.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --uid 10001 frontdesk

# Dependencies first, so a code change does not reinstall them. PyTorch from its CPU-only index (no CUDA).
COPY requirements.txt .
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt

COPY --chown=frontdesk:frontdesk . .

# Static files are collected into the image and served by WhiteNoise; collectstatic needs no database or secret
# (the development settings only warn about their defaults here, at build time).
RUN mkdir -p .data/staticfiles .data/media \
    && DJANGO_SETTINGS_MODULE=config.settings.development DEBUG=0 python manage.py collectstatic --noinput -v 0 \
    && chown -R frontdesk:frontdesk .data

USER frontdesk
EXPOSE 8000
ENTRYPOINT ["tini", "--"]
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"]
