"""The Celery app. Workers start with `celery -A reviewapp worker`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewapp.settings")

# DjangoTask adds delay_on_commit, so a worker never sees a row before it is committed.
app = Celery("reviewapp", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
