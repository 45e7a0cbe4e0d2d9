"""``--config FILE.toml`` for every command, and ``run --replay PATH``.

A config file's keys are the command's long options, with dashes or
underscores (``n-requests = 10``, ``[option]`` for ``--option KEY=VALUE``), and
its positional arguments by the names ``--help`` shows (``result = "runs/x"``);
a key that is no option of the command is refused. Values come in layers: a
replayed run's settings, then the config file, then the flags given on the
line, which win. Repeatable ``KEY=VALUE`` flags (``--option``, ``--header``,
``--schedule-option``, ``--column``) add to the file's, the line's winning key by key; other
repeatable flags (``--slo``, ``--callback``) replace the file's list.
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..results import RUN_CONFIG_FILE, read_saved_run
from ..run_config import RunConfig
from ..storage import display_url, resolve
from ._sessions import session_replay_values

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["load_replay", "parse_with_config", "replay_values"]

MERGED = (
    "option",
    "header",
    "schedule_option",
    "column",
)  # KEY=VALUE lists: the line wins key by key
_SKIPPED = ("help", "config", "replay", "version")


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser | None = action.choices.get(command)
            return found
    return None


def _given_on_line(
    build_parser: Callable[[], argparse.ArgumentParser], command: str, argv: Sequence[str]
) -> dict[str, Any]:
    """The options the command line itself gave (a parse with no defaults, nothing required)."""
    parser = build_parser()
    sub = _subparser(parser, command)
    assert sub is not None
    for action in sub._actions:
        action.default = argparse.SUPPRESS
        action.required = False
    for group in sub._mutually_exclusive_groups:
        group.required = False
    namespace, _ = parser.parse_known_args(argv)
    return {k: v for k, v in vars(namespace).items() if k != "command"}


def _options(sub: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """The command's options by every name a config key may use."""
    names: dict[str, argparse.Action] = {}
    for action in sub._actions:
        if action.dest in _SKIPPED or action.dest == argparse.SUPPRESS:
            continue
        names[action.dest] = action  # a positional (``result = "runs/x"``) by its name
        for option in action.option_strings:
            if option.startswith("--"):
                names[option[2:]] = action
                names[option[2:].replace("-", "_")] = action
    return names


def _flag(action: argparse.Action) -> str:
    if not action.option_strings:  # a positional
        return str(action.metavar or action.dest).upper()
    return max(action.option_strings, key=len)


def _convert(action: argparse.Action, value: Any, where: str) -> Any:
    """A config value as the option would hold it, or a ValueError saying why not."""
    flag = _flag(action)
    if isinstance(action, argparse._StoreTrueAction):
        if not isinstance(value, bool):
            raise ValueError(f"{where}: {flag} must be true or false, not {value!r}")
        return value
    if isinstance(action, argparse._AppendAction):
        if isinstance(value, Mapping) and action.dest in MERGED:
            if action.dest == "header":  # NAME: VALUE, as on the line
                return [f"{k}: {v}" for k, v in value.items()]
            return [f"{k}={json.dumps(v)}" for k, v in value.items()]
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) for item in items):
            raise ValueError(f"{where}: {flag} must be a string or a list of strings")
        return list(items)
    if action.nargs in ("+", "*") and isinstance(value, list):  # --sequence-of-clients 1 2 4
        return [_scalar(action, item, where) for item in value]
    return _scalar(action, value, where)


def _scalar(action: argparse.Action, value: Any, where: str) -> Any:
    """One config value as the option's type and choices allow it."""
    flag = _flag(action)
    kind = action.type
    if isinstance(value, bool | dict | list):
        raise ValueError(f"{where}: {flag} must be a single value")  # no repr: it may be a secret
    if kind is int and not isinstance(value, int | str):
        raise ValueError(f"{where}: {flag} must be a whole number, not {value!r}")
    if callable(kind) and (isinstance(value, str) or kind is float):
        try:
            value = kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: {flag} cannot be {value!r}") from None
    if kind is None and not isinstance(value, str):
        value = str(value)
    if action.choices is not None and value not in action.choices:
        raise ValueError(f"{where}: {flag} must be one of {', '.join(map(str, action.choices))}")
    return value


def read_config(path: str, sub: argparse.ArgumentParser) -> dict[str, Any]:
    """A config file's values, by option destination."""
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        raise FileNotFoundError(f"--config {path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"--config {path}: not TOML ({exc})") from None
    options = _options(sub)
    unknown = sorted(key for key in document if key not in options)
    if unknown:
        raise ValueError(
            f"--config {path}: {', '.join(map(repr, unknown))} "
            f"{'is no option' if len(unknown) == 1 else 'are no options'} of {sub.prog}"
        )
    values: dict[str, Any] = {}
    for key, value in document.items():
        action = options[key]
        if action.dest in values:
            raise ValueError(f"--config {path}: {_flag(action)} is given twice")
        values[action.dest] = _convert(action, value, f"--config {path}")
    return values


def load_replay(path: str) -> RunConfig:
    """The configuration a saved run (llmeter-trio's or LLMeter's) ran with."""
    url = path.rstrip("/")
    if posixpath.basename(url) == RUN_CONFIG_FILE:
        url = posixpath.dirname(url) or "."
    fs, folder = resolve(url)
    if not fs.isdir(folder):
        raise FileNotFoundError(f"--replay {display_url(path)}: no such run folder")
    config = read_saved_run(url).run_config
    if config is None:
        raise FileNotFoundError(f"--replay {display_url(path)}: the run holds no {RUN_CONFIG_FILE}")
    return config


_SCHEDULE_OPTIONS = {
    "rate": "rate",
    "burstiness": "burstiness",
    "start_rate": "start_rate",
    "end_rate": "end_rate",
    "duration": "ramp_duration",
    "path": "trace",
    "time_scale": "time_scale",
    "requests_per_minute": "requests_per_minute",
    "tokens_per_minute": "tokens_per_minute",
    "max_concurrency": "max_concurrency",
}


def replay_values(config: RunConfig) -> dict[str, Any]:
    """A saved run's settings as `llmeter-trio run` options (the endpoint and payloads aside)."""
    values: dict[str, Any] = {
        "clients": config.clients,
        # time-bound runs: LLMeter saves n_requests=0 beside run_duration
        "n_requests": None if config.run_duration is not None else config.n_requests,
        "duration": config.run_duration,
        "timeout": config.timeout,
        "seed": config.seed,
        "warmup_requests": config.warmup_requests,
        "warmup_seconds": config.warmup_seconds,
        "cooldown_requests": config.cooldown_requests,
        "cooldown_seconds": config.cooldown_seconds,
        "slo": list(config.slos),
        "lag_tolerance": config.lag_tolerance,
        "no_preconnect": not config.preconnect,
        "server_metrics": config.server_metrics,
        "workers": None if config.workers is None else str(config.workers),
        "ignore_retry_after": not config.respect_retry_after,
    }
    values.update(session_replay_values(config))
    if config.server_metrics is not None:
        values["server_metrics_interval"] = config.server_metrics_interval
    if config.retry is not None:
        values["retry"] = int(config.retry.get("max_attempts", 1)) - 1
        values["retry_max_wait"] = config.retry.get("max_wait")
    if config.schedule is not None:
        options = dict(config.schedule)
        values["schedule"] = options.pop("schedule")
        extra = []
        for option, value in options.items():
            if value is None:
                continue
            if option in _SCHEDULE_OPTIONS:
                values[_SCHEDULE_OPTIONS[option]] = value
            else:
                extra.append(f"{option}={json.dumps(value)}")
        values["schedule_option"] = extra
    return {k: v for k, v in values.items() if v is not None}


def parse_with_config(
    build_parser: Callable[[], argparse.ArgumentParser], argv: Sequence[str]
) -> argparse.Namespace:
    """Parse `argv`, filling what the line leaves out from ``--config`` (and ``--replay``)."""
    parser = build_parser()
    command = argv[0] if argv else ""
    sub = _subparser(parser, command)
    if sub is None or not any(a.startswith(("--config", "--replay")) for a in argv[1:]):
        return parser.parse_args(argv)
    line = _given_on_line(build_parser, command, argv)
    exclusive: dict[str, set[str]] = {}  # --n-requests and --duration, --payload and --prompt
    for group in sub._mutually_exclusive_groups:
        dests = {action.dest for action in group._group_actions}
        for dest in dests:
            exclusive[dest] = dests - {dest}
    layers: dict[str, Any] = {}
    replayed = None
    if line.get("replay"):
        replayed = load_replay(line["replay"])
        layers.update(replay_values(replayed))
    if line.get("config"):
        for dest, value in read_config(os.fspath(line["config"]), sub).items():
            for other in exclusive.get(dest, set()):
                layers.pop(other, None)
            layers[dest] = value
    provided = set(layers) | ({"endpoint", "payload", "prompt", "dataset"} if replayed else set())
    for action in sub._actions:
        if action.dest in provided:
            action.required = False
    for group in sub._mutually_exclusive_groups:
        if {action.dest for action in group._group_actions} & provided:
            group.required = False
    args = parser.parse_args(argv)
    for dest, value in layers.items():
        if dest in line:
            if dest in MERGED:
                setattr(args, dest, [*value, *line[dest]])
        elif not exclusive.get(dest, set()) & set(line):
            setattr(args, dest, value)
    if replayed is not None:
        args.replayed = replayed
    return args
