"""The suite refuses the network (tests/conftest.py), so code that phones home fails here."""

import socket

import pytest

from tests.conftest import NetworkAccessInTests


@pytest.mark.parametrize("address", [("example.com", 80), ("93.184.215.14", 443), ("2606:2800:21f:cb07::1", 443)])
def test_outside_connections_are_refused(address):
    with pytest.raises(NetworkAccessInTests, match="network access refused"):
        socket.create_connection(address, timeout=1)


def test_loopback_stays_open():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        client = socket.create_connection(server.getsockname(), timeout=5)
        client.close()
    finally:
        server.close()
