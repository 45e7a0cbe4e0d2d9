"""The synthetic-workload options (``--input-length``, ``--prefixes``, ...) and ``--tokenizer``."""

from __future__ import annotations

import argparse
import json
import os
import random
from typing import Any

from .._checks import check_number
from ..endpoints import Endpoint
from ..plugins import tokenizer_factories, tokenizer_from_config
from ..prompts import SAMPLE_TEXT_FILE
from ..storage import resolve
from ..tokenizers import DummyTokenizer, HuggingFaceTokenizer, TiktokenTokenizer, Tokenizer
from ..tokenizers._documents import load_tokenizer
from ..workloads import SharedPrefixes, SyntheticWorkload, parse_distribution
from ..workloads._prefixes import PLACEMENTS

__all__ = [
    "TIKTOKEN_SPLIT",
    "add_tokenizer_argument",
    "add_workload_arguments",
    "synthetic_payloads",
    "tokenizer_from_args",
    "tokenizer_from_spec",
]

# a .tiktoken file given alone is split before merging as GPT-2-style encodings do: words with
# their leading space, numbers, punctuation, spaces (a saved tokenizer JSON can name another)
TIKTOKEN_SPLIT = r"""'(?:s|t|re|ve|m|ll|d)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
_SPEC_HELP = (
    "dummy (one word a token, the default), a registered tokenizer's name, a .tiktoken "
    "file, a Hugging Face tokenizer.json or the folder holding it, or a saved tokenizer JSON"
)
_WORKLOAD_FLAGS = (
    "output_length",
    "distinct_prompts",
    "prefixes",
    "prefix_length",
    "suffixes_per_prefix",
    "prefix_placement",
    "source_file",
)


def add_tokenizer_argument(parser: argparse.ArgumentParser) -> None:
    """``--tokenizer SPEC``: the run's tokenizer (counts tokens, sizes synthetic prompts)."""
    parser.add_argument("--tokenizer", metavar="SPEC", help=f"the run's tokenizer: {_SPEC_HELP}")


def add_workload_arguments(
    parser: argparse.ArgumentParser, source: argparse._MutuallyExclusiveGroup
) -> None:
    """``--input-length`` (a payload source beside --payload and --prompt) and its options."""
    source.add_argument(
        "--input-length",
        metavar="DIST",
        help="synthetic prompts of this many input tokens under --tokenizer: 500, "
        "uniform:100,900, normal:500,50, lognormal:500,0.5 or empirical:FILE (docs/workloads.md)",
    )
    group = parser.add_argument_group("synthetic workload (with --input-length; docs/workloads.md)")
    add = group.add_argument
    add("--output-length", metavar="DIST", help="output tokens asked (default: --max-tokens)")
    add(
        "--distinct-prompts",
        type=int,
        metavar="N",
        help="how many different prompts the workload holds (default 100)",
    )
    add(
        "--exact-output",
        action="store_true",
        help="also send ignore_eos and min_tokens, so vLLM/SGLang-style servers give exactly "
        "the output length (OpenAI-compatible chat and completions endpoints only)",
    )
    add("--prefixes", type=int, metavar="N", help="N shared prefixes, to test prefix caching")
    add("--prefix-length", metavar="DIST", help="tokens of each prefix (with --prefixes)")
    add(
        "--suffixes-per-prefix",
        type=int,
        metavar="M",
        help="requests sharing each prefix (default 1): N x M prompts",
    )
    add(
        "--prefix-placement",
        choices=PLACEMENTS,
        help="document: the prefix starts the user message (default); system: it is the "
        "system prompt",
    )
    add("--source-file", metavar="PATH", help="text the prompts are cut from (default: shipped)")


def tokenizer_from_args(args: argparse.Namespace) -> Tokenizer | None:
    """The tokenizer ``--tokenizer`` names, or None (the default) without it."""
    spec = getattr(args, "tokenizer", None)
    return None if spec is None else tokenizer_from_spec(spec)


def tokenizer_from_spec(spec: str) -> Tokenizer:
    """A tokenizer from the command line's words: see `_SPEC_HELP`."""
    text = spec.strip()
    try:
        if text in tokenizer_factories():
            rebuilt = tokenizer_from_config({"tokenizer_type": text})
            return rebuilt if rebuilt is not None else DummyTokenizer()
        fs, path = resolve(text)
        if fs.isdir(path):
            folder_file = path.rstrip("/") + "/tokenizer.json"
            if not fs.isfile(folder_file):
                raise ValueError(f"--tokenizer {spec}: the folder holds no tokenizer.json")
            return HuggingFaceTokenizer.from_file(text.rstrip("/") + "/tokenizer.json")
        if not fs.isfile(path):
            raise ValueError(
                f"--tokenizer {spec}: no such file or registered tokenizer; give {_SPEC_HELP}"
            )
        if text.endswith(".tiktoken"):
            return TiktokenTokenizer.from_file(text, pat_str=TIKTOKEN_SPLIT)
        with fs.open(path, "rb") as file:
            document = json.loads(file.read())
        if isinstance(document, dict) and (
            "tokenizer_module" in document or "tokenizer_type" in document
        ):
            return load_tokenizer(document)
        if isinstance(document, dict) and "model" in document:  # a Hugging Face tokenizer.json
            return HuggingFaceTokenizer.from_file(text)
        raise ValueError(f"--tokenizer {spec}: not a tokenizer.json nor a saved tokenizer")
    except (ImportError, OSError, ValueError, TypeError, KeyError) as exc:
        message = str(exc) if str(exc).startswith("--tokenizer") else f"--tokenizer {spec}: {exc}"
        raise ValueError(message) from None


def synthetic_payloads(
    args: argparse.Namespace, endpoint: Endpoint, tokenizer: Tokenizer | None
) -> list[dict[str, Any]] | None:
    """The payloads of ``--input-length`` and its options (None without it), seeded by
    ``--seed``: one is chosen, and set as the run's, when none is given."""
    if getattr(args, "input_length", None) is None:
        given = [
            f"--{flag.replace('_', '-')}"
            for flag in _WORKLOAD_FLAGS
            if getattr(args, flag, None) is not None
        ] + (["--exact-output"] if getattr(args, "exact_output", False) else [])
        if given:
            verb = "needs" if len(given) == 1 else "need"
            raise ValueError(f"{', '.join(given)} {verb} --input-length")
        return None
    check_number("--distinct-prompts", args.distinct_prompts, whole=True)
    prefixes = None
    if args.prefixes is not None:
        check_number("--prefixes", args.prefixes, whole=True)
        check_number("--suffixes-per-prefix", args.suffixes_per_prefix, whole=True)
        if args.prefix_length is None:
            raise ValueError("--prefixes needs --prefix-length")
        if args.distinct_prompts is not None:
            raise ValueError(
                "--distinct-prompts and --prefixes: the prompts are --prefixes x "
                "--suffixes-per-prefix, give one or the other"
            )
        prefixes = SharedPrefixes(
            args.prefixes,
            parse_distribution(args.prefix_length),
            args.suffixes_per_prefix or 1,
            args.prefix_placement or "document",
        )
    elif args.prefix_length or args.suffixes_per_prefix or args.prefix_placement:
        raise ValueError(
            "--prefix-length, --suffixes-per-prefix and --prefix-placement need --prefixes N"
        )
    if getattr(args, "seed", None) is None:
        args.seed = random.randrange(2**32)  # saved with the run: the workload can be made again
    workload = SyntheticWorkload(
        parse_distribution(args.input_length),
        parse_distribution(args.output_length or str(args.max_tokens)),
        requests=args.distinct_prompts,
        tokenizer=tokenizer,
        source_file=os.fspath(args.source_file or SAMPLE_TEXT_FILE),
        seed=args.seed,
        prefixes=prefixes,
        exact_output=args.exact_output,
    )
    return workload.payloads(endpoint)
