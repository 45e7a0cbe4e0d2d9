"""Connections opened before the run's clock starts (`preconnect`), and cold starts without it."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import trio
from trio.testing import MockClock

from llmeter_trio import Runner
from llmeter_trio.cli import main
from llmeter_trio.endpoints import ErrorClass, FakeEndpoint, InvocationResponse, OpenAIChatEndpoint
from llmeter_trio.endpoints._lean_transport import LeanTransport
from llmeter_trio.engine import EndpointUnreachable
from llmeter_trio.schedules import ConstantRate
from llmeter_trio.stats import RunStats

from .endpoints._openai_loopback import LoopbackServer, endpoint_for
from .endpoints._openai_support import chat_chunk, sse, usage_chunk

LIMIT = 20  # seconds: the most any test here may take
BODY = sse(chat_chunk("Hel"), chat_chunk("lo"), usage_chunk(2, 2), "[DONE]")
PAYLOAD = OpenAIChatEndpoint.create_payload("hi")


def _closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class TestRuns:
    """Against a loopback server that counts connections."""

    async def test_no_first_request_carries_connect_time(self, nursery: trio.Nursery) -> None:
        """By default each client's connection is open before the clock starts."""
        server = LoopbackServer(BODY)
        endpoint = endpoint_for(await server.start(nursery))
        with trio.fail_after(LIMIT):
            result = await Runner(endpoint).run(payload=PAYLOAD, clients=4, n_requests=3)
        assert [r.error for r in result.responses] == [None] * 12
        assert [r.connect_time for r in result.responses] == [None] * 12
        assert server.connections == 4
        assert "connect_time-p50" not in result.stats
        assert result.run_config is not None and result.run_config.preconnect is True

    async def test_cold_start_without_preconnect(self, nursery: trio.Nursery) -> None:
        """preconnect=False: the first request of each client opens its connection, timed."""
        server = LoopbackServer(BODY)
        endpoint = endpoint_for(await server.start(nursery))
        with trio.fail_after(LIMIT):
            result = await Runner(endpoint, preconnect=False).run(
                payload=PAYLOAD, clients=4, n_requests=3
            )
        assert server.connections == 4
        for client in range(4):
            mine = sorted(
                (r for r in result.responses if r.client == client), key=lambda r: r.send_time
            )
            assert mine[0].connect_time is not None and mine[0].connect_time > 0
            assert [r.connect_time for r in mine[1:]] == [None, None]
        assert (
            len(RunStats.of(result.responses).columns["connect_time"]) == 4
        )  # only those with one
        assert result.stats["connect_time-max"] > 0
        assert result.run_config is not None and result.run_config.preconnect is False

    async def test_open_loop_preconnects_its_cap(self, nursery: trio.Nursery) -> None:
        server = LoopbackServer(BODY, delay=0.05)
        endpoint = endpoint_for(await server.start(nursery))
        schedule = ConstantRate(rate=200, max_concurrency=3)
        with trio.fail_after(LIMIT):
            result = await Runner(endpoint).run(payload=PAYLOAD, schedule=schedule, n_requests=6)
        assert [r.error for r in result.responses] == [None] * 6
        assert [r.connect_time for r in result.responses] == [None] * 6
        assert server.connections == 3

    async def test_server_down(self) -> None:
        """A failed preconnect does not fail the run: the requests fail as usual, classified,
        and, nothing answering them, stop the run (docs/throttling.md)."""
        endpoint = endpoint_for(f"http://127.0.0.1:{_closed_port()}/v1")
        with trio.fail_after(LIMIT), pytest.raises(EndpointUnreachable) as caught:
            await Runner(endpoint).run(payload=PAYLOAD, clients=2, n_requests=2)
        result = caught.value.result
        assert [r.error_class for r in result.responses] == [ErrorClass.CONNECTION] * 2


@attrs.define
class SlowToConnect(FakeEndpoint):
    """Takes `connecting` seconds (on trio's clock) to open its connections."""

    connecting: float = 2.0
    preconnected: list[int] = attrs.field(factory=list)

    async def preconnect(self, connections: int) -> None:
        await trio.sleep(self.connecting)
        self.preconnected.append(connections)


class TestTheClock:
    """Virtual time: what preconnecting takes is charged to no request and not to the run."""

    async def test_clock_starts_after_preconnect(self, autojump_clock: MockClock) -> None:
        endpoint = SlowToConnect(time_to_first_token=0.5, output_tokens=1)
        result = await Runner(endpoint).run(payload={"prompt": "x"}, clients=3, n_requests=2)
        assert endpoint.preconnected == [3]
        assert result.total_test_time == 1.0
        assert sorted(r.send_time for r in result.responses) == [0, 0, 0, 0.5, 0.5, 0.5]

    async def test_off_means_never_called(self, autojump_clock: MockClock) -> None:
        endpoint = SlowToConnect(time_to_first_token=0.5, output_tokens=1)
        result = await Runner(endpoint).run(payload={"prompt": "x"}, n_requests=1, preconnect=False)
        assert endpoint.preconnected == []
        assert result.total_test_time == 0.5

    async def test_a_hanging_preconnect_is_bounded(self, autojump_clock: MockClock) -> None:
        """A preconnect that never ends gives up after the request timeout; the run goes on."""
        endpoint = SlowToConnect(connecting=3600, time_to_first_token=0.5, output_tokens=1)
        result = await Runner(endpoint, timeout=5).run(payload={"prompt": "x"}, n_requests=1)
        assert endpoint.preconnected == []
        assert [r.error for r in result.responses] == [None]
        assert result.total_test_time == 0.5

    async def test_run_duration_counts_from_the_clock_start(
        self, autojump_clock: MockClock
    ) -> None:
        endpoint = SlowToConnect(connecting=10, time_to_first_token=1, output_tokens=1)
        result = await Runner(endpoint).run(payload={"prompt": "x"}, run_duration=3)
        assert result.total_requests == 3


class TestLeanTransport:
    async def test_opens_idle_connections_up_to_the_pool(self, nursery: trio.Nursery) -> None:
        server = LoopbackServer(BODY)
        base_url = await server.start(nursery)
        transport = LeanTransport(3)
        with trio.fail_after(LIMIT):
            assert await transport.preconnect(base_url, 5) == 3
            assert (transport.open_connections, transport.idle_connections) == (3, 3)
            assert await transport.preconnect(base_url, 5) == 0  # the pool is full
            names: list[str] = []

            async def trace(name: str, info: Any) -> None:
                names.append(name)

            async with httpx.AsyncClient(transport=transport) as client:
                response = await client.post(
                    base_url + "/chat/completions", json=PAYLOAD, extensions={"trace": trace}
                )
                assert response.status_code == 200
        assert names == []  # a preconnected connection was used: no connect events
        assert server.connections == 3

    async def test_refused_frees_the_slots(self) -> None:
        transport = LeanTransport(2)
        with trio.fail_after(LIMIT):
            assert await transport.preconnect(f"http://127.0.0.1:{_closed_port()}", 2) == 0
        assert transport.open_connections == 0

    async def test_httpx_pool_does_nothing(self, nursery: trio.Nursery) -> None:
        """httpx's own pool cannot hold connections opened ahead: first requests connect."""
        server = LoopbackServer(BODY)
        endpoint = endpoint_for(await server.start(nursery), http_transport="httpx")
        with trio.fail_after(LIMIT):
            async with endpoint.open_session(2):
                await endpoint.preconnect(2)
                assert server.connections == 0
                record = await endpoint.invoke(PAYLOAD)
        assert record.connect_time is not None


def test_connect_time_stats_count_only_records_that_have_one() -> None:
    records = [
        InvocationResponse(response_text="a", connect_time=0.25),
        InvocationResponse(response_text="b", connect_time=None),
        InvocationResponse(response_text="c", connect_time=0.75),
    ]
    stats = RunStats.of(records).to_dict(1.0)
    assert stats["connect_time-average"] == 0.5
    assert (stats["connect_time-min"], stats["connect_time-max"]) == (0.25, 0.75)


def test_cli_no_preconnect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--no-preconnect is saved with the run."""
    folder = tmp_path / "cold"
    code = main(["run", "--endpoint", "fake", "--prompt", "hi", "--n-requests", "1",
                 "--option", "time_to_first_token=0", "--option", "inter_token_latency=0",
                 "--no-preconnect", "--output", str(folder)])  # fmt: skip
    capsys.readouterr()
    assert code in (0, 3)  # 3: a busy machine may call the generator a bottleneck
    saved = json.loads((folder / "run_config.json").read_text())
    assert saved["preconnect"] is False
