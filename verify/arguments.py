"""What `pipenv run verify` and `pipenv run rollout` share on their command lines: a parser
that reports a bad argument in one line, and a bounded number of seconds."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not argparse's usage block."""
        self.exit(2, f"error: {message} (see --help)\n")


def seconds(most: float) -> Callable[[str], float]:
    """An argument type: a number of seconds above 0 and at most `most`."""

    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number of seconds, not {raw!r}") from None
        if not 0 < value <= most:
            raise argparse.ArgumentTypeError(f"must be more than 0 and at most {most:g}, not {raw}")
        return value

    return parse
