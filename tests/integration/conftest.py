from tests.faults.conftest import own_celery, own_redis, processes  # noqa: F401  (shared)
