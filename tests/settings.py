"""Test settings: the production settings, with a throwaway key, files in a temp dir and fast hashing.

DATABASE_URL and CELERY_BROKER_URL are honoured as set (CI points them at PostgreSQL and Redis).
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="annotator-test-"))

from annotator.settings import *  # noqa: F403
from annotator.settings import STATIC_ROOT, STORAGES

# The test client speaks plain HTTP.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
# WhiteNoise warns about a missing STATIC_ROOT; tests serve static files through the finders.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
