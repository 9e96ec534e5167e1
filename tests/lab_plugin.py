"""Loaded with ``-p`` before pytest-django reads the settings: isolates this test process.

Each pytest process (each xdist worker too) gets its own Redis key prefix, so several test runs
can share one Redis server (a developer's and CI's, or parallel workers) without stealing each
other's Celery tasks or channel messages. The test database name is per process as well (see
settings.DATABASES TEST NAME).
"""
import os

os.environ["LAB_REDIS_PREFIX"] = f"test-{os.getpid()}"
os.environ.setdefault("LAB_FAST_PASSWORD_HASHER", "true")
# Playwright's sync API keeps an event loop in the test thread; the ORM calls there are still sync.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Object bytes written by tests (and by the live servers they start) go to a throwaway folder of this
# process's own (xdist workers included), never into a developer's var/media.
import tempfile  # noqa: E402

os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix=f"lab-test-media-{os.getpid()}-")
