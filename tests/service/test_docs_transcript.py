"""docs/local-mode.md's curl session is what local mode really answers: replayed
with curl against `python -m local_api`, output compared after ids, times and
cursors are normalized; every Content-Length matches its body."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from local_api.dynalite import free_port
from tests.conftest import PROJECT_ROOT
from tests.service.test_local_api_main import local_mode, wait_for_banner

pytestmark = pytest.mark.slow
DOC = PROJECT_ROOT / "docs" / "local-mode.md"
DOC_URL = "http://127.0.0.1:8080"
# Headers that change on every run or with the Python version; the doc leaves them out.
DROPPED_HEADERS = ("Date:", "Server:")
DYNAMIC = [
    (re.compile(r"eyJ[A-Za-z0-9_-]{20,}"), "<cursor>"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "<id>"),
    (re.compile(r"\b\d{13}\b"), "<epoch_ms>"),
    (re.compile(r"\b\d{10}\b"), "<epoch>"),
]


def session(text: str) -> list[tuple[str, str]]:
    """(command, output) pairs of the doc's ```console block."""
    block = text.split("```console\n", 1)[1].split("```", 1)[0]
    pairs: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:], []))
        else:
            pairs[-1][1].append(line)
    return [(command, "\n".join(output)) for command, output in pairs]


def normalize(output: str) -> str:
    for pattern, placeholder in DYNAMIC:
        output = pattern.sub(placeholder, output)
    return output


def test_every_content_length_matches_its_body() -> None:
    checked = 0
    for _, output in session(DOC.read_text()):
        head, _, body = output.partition("\n\n")
        length = re.search(r"^Content-Length: (\d+)$", head, re.MULTILINE)
        if length:
            assert int(length.group(1)) == len(body.encode()), head
            checked += 1
    assert checked >= 2


@pytest.mark.skipif(shutil.which("curl") is None, reason="replays the session with curl")
def test_the_session_is_what_local_mode_answers(tmp_path: Path) -> None:
    port = free_port()
    stderr_path = tmp_path / "stderr.txt"
    process = local_mode(
        "--port", str(port), "--data-dir", str(tmp_path / "data"), stderr_path=stderr_path
    )
    try:
        wait_for_banner(process, stderr_path)
        cursors: dict[str, str] = {}
        for command, documented in session(DOC.read_text()):
            actual_command = command.replace(DOC_URL, f"http://127.0.0.1:{port}")
            for doc_cursor, real_cursor in cursors.items():
                actual_command = actual_command.replace(doc_cursor, real_cursor)
            result = subprocess.run(
                ["bash", "-c", actual_command],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
            actual = "\n".join(
                line
                for line in result.stdout.replace("\r\n", "\n").rstrip("\n").split("\n")
                if not line.startswith(DROPPED_HEADERS)
            )
            assert normalize(actual) == normalize(documented), command
            if '"next":"' in documented:
                doc_next = json.loads(documented.rpartition("\n")[2])["next"]
                cursors[doc_next] = json.loads(actual.rpartition("\n")[2])["next"]
    finally:
        process.terminate()
        process.communicate(timeout=20)
