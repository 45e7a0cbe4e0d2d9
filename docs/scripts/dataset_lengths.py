"""Draws docs/images/dataset-input-lengths.png: the input lengths of a conversation dataset,
all of it and the seeded sample a run would send after a length filter.

The dataset is made up here (2,000 ShareGPT-style conversations, prompt lengths
log-normal, seeded), so nothing is downloaded: `python docs/scripts/dataset_lengths.py`.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

import plotly.graph_objects as go
from _chart_file import chart_path, write_chart

from llmeter_trio.workloads import Dataset

WORDS = [
    "the",
    "model",
    "answers",
    "every",
    "question",
    "about",
    "rivers",
    "lakes",
    "and",
    "mountains",
    "quickly",
]


def conversations(count: int, seed: int) -> list[dict[str, object]]:
    """Made-up conversations: prompts of log-normal length (median 90 words), answers too."""
    rng = random.Random(seed)

    def text(median: float) -> str:
        return " ".join(rng.choices(WORDS, k=max(1, round(rng.lognormvariate(0, 0.8) * median))))

    return [
        {
            "conversations": [
                {"from": "human", "value": text(90)},
                {"from": "gpt", "value": text(150)},
            ]
        }
        for _ in range(count)
    ]


def main(output: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chats.json"
        path.write_text(json.dumps(conversations(2000, seed=3)))
        dataset = Dataset.load(path)
    sampled = dataset.filter(min_input_tokens=20, max_input_tokens=400).sample(500, seed=1)
    figure = go.Figure()
    for name, part in (
        ("whole dataset (2,000)", dataset),
        ("filtered 20-400, sample of 500", sampled),
    ):
        figure.add_trace(
            go.Histogram(
                x=[row.input_tokens for row in part.rows],
                name=name,
                xbins={"start": 0, "end": 800, "size": 20},
                opacity=0.7,
            )
        )
    figure.update_layout(
        barmode="overlay",
        title="Input lengths of a conversation dataset (DummyTokenizer tokens)",
        xaxis_title="input tokens",
        yaxis_title="rows",
        width=900,
        height=450,
    )
    write_chart(figure, output)


if __name__ == "__main__":
    main(chart_path("dataset-input-lengths.png"))
