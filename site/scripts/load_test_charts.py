"""Makes the load-test charts in docs/user-guide.md: ``python docs/scripts/load_test_charts.py``.

An in-process endpoint with 8 slots stands in for a server: requests beyond
them queue (which shows in time to first token), and when 16 wait, new ones
are throttled. It runs in virtual time (trio's MockClock), so a minute per
level takes a moment.
"""

from __future__ import annotations

import random
import tempfile
import warnings
from pathlib import Path
from typing import Any

import attrs
import trio
import trio.testing

from llmeter_trio import Endpoint, EndpointError, ErrorClass, InvocationResponse, StreamRecorder
from llmeter_trio.endpoints import ChunkKind
from llmeter_trio.experiments import LoadTest

IMAGES = Path(__file__).parent.parent / "images"


@attrs.define
class QueueingEndpoint(Endpoint):
    """A server with `slots` request slots: the rest queue; past `max_waiting`, new ones get 429.

    Each payload's ``"fake"`` entry gives its time to first token, time per
    token and output length; decoding slows by 4% per request in a batch.
    """

    endpoint_type = "queueing-demo"
    slots: int = 8
    max_waiting: int = 16
    _free: trio.Semaphore | None = attrs.field(default=None, init=False)
    _waiting: int = attrs.field(default=0, init=False)

    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        recorder = StreamRecorder()  # the request is on its way: time in the queue counts
        if self._free is None:
            self._free = trio.Semaphore(self.slots)
        if self._waiting >= self.max_waiting:
            await trio.sleep(0.25)
            raise EndpointError("throttled: too many requests", ErrorClass.THROTTLED, 429)
        self._waiting += 1
        try:
            await self._free.acquire()
        finally:
            self._waiting -= 1
        try:
            spec = payload["fake"]
            await trio.sleep(spec["time_to_first_token"])
            tokens = spec["output_tokens"]
            for sent in range(0, tokens, 4):
                if sent:
                    batch = self.slots - self._free.value
                    await trio.sleep(4 * spec["inter_token_latency"] * (1 + 0.04 * batch))
                recorder.chunk(chars=16, kind=ChunkKind.CONTENT, tokens=min(4, tokens - sent))
        finally:
            self._free.release()
        prompt = str(payload["prompt"])
        response = InvocationResponse(
            response_text="word " * tokens,
            input_prompt=prompt,
            num_tokens_input=len(prompt.split()),
            num_tokens_output=tokens,
        )
        return recorder.finish(response)


def payloads(count: int = 200) -> list[dict[str, Any]]:
    """Prompts whose answers vary in length and speed, as real ones do."""
    rng = random.Random(7)
    return [
        {
            "prompt": "word " * rng.randint(20, 400),
            "fake": {
                "time_to_first_token": round(rng.uniform(0.15, 0.45), 3),
                "inter_token_latency": round(rng.uniform(0.012, 0.02), 4),
                "output_tokens": rng.randint(40, 300),
            },
        }
        for _ in range(count)
    ]


async def main() -> None:
    load_test = LoadTest(
        endpoint=QueueingEndpoint(),
        payload=payloads(),
        sequence_of_clients=[1, 2, 4, 8, 16, 24, 32],
        run_duration=60,
        progress_bar_stats={},  # virtual time races ahead while results are saved
        test_name="docs",
        seed=1,
    )
    with tempfile.TemporaryDirectory() as folder:
        result = await load_test.run(output_path=folder)
        figures = result.plot_results(show=False, output_path=folder)
    warnings.simplefilter("ignore", DeprecationWarning)  # kaleido 0.2.1 is pinned on purpose
    for name, figure in figures.items():
        figure.update_layout(title=figure.layout.title.text.replace(" (docs)", ""))
        path = IMAGES / f"load-test-{name.replace('_', '-')}.png"
        path.write_bytes(figure.to_image(format="png", width=900, height=450))
        print("wrote", path)


if __name__ == "__main__":
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
