from unittest import mock

from django_q.conf import Conf

from hitl_site.broker import PooledRedis


def test_brokers_in_one_process_share_one_redis_client():
    with mock.patch.object(Conf, "REDIS", "redis://127.0.0.1:6379/15"):
        first, second = PooledRedis(list_key="a"), PooledRedis(list_key="b")

    assert first.connection is second.connection
    assert first.list_key != second.list_key


def test_the_shared_client_uses_the_configured_url():
    with mock.patch.object(Conf, "REDIS", "redis://127.0.0.1:6379/14"):
        broker = PooledRedis()

    assert broker.connection.connection_pool.connection_kwargs["db"] == 14
