"""The django-q2 Redis broker, with one connection pool per process.

django-q2's own Redis broker builds a new client, and so a new connection pool and a new
TCP connection, for every ``async_task`` call: on the intake path that was one connect
per accepted request. This subclass shares one pool per process (redis-py's pool is
thread-safe and resets itself in a forked child). Selected in settings when ``REDIS_URL``
is set.
"""

import functools

import redis
from django_q.brokers.redis_broker import Redis
from django_q.conf import Conf


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


class PooledRedis(Redis):
    @staticmethod
    def get_connection(list_key: str | None = None) -> redis.Redis:
        return _client(Conf.REDIS)
