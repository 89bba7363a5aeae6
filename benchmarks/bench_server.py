"""How long an edit waits for its diagnostics: didChange -> publishDiagnostics through a real client.

    python benchmarks/bench_server.py [--changes N] [--lines N]

Starts ``autograd-lint server`` over stdio with pytest-lsp's client (pygls), opens a generated
training script of about 500 lines (several training loops, a few of them with the mistakes
the rules flag), then sends N edits, one at a time, each changing a number inside a loop, and
times each from the didChange to the publishDiagnostics for that version. The debounce is set
to 0 to measure the check itself; in an editor, typing adds the debounce (150 ms by default)
after the last keystroke. Prints p50 and p95 (target: p50 at most 100 ms), and beside them the
medians of ``check_source`` and of a bare ``libcst.parse_module`` on the same text in this
process: the part of the wait that is the checker's rather than the server's, and the floor
no check goes under (on a loaded machine all three grow alike).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from textwrap import dedent

import libcst
from lsprotocol import types
from pytest_lsp import client_capabilities, make_test_lsp_client

from autograd_lint.engine import check_source

TARGET_P50_MS = 100

HEADER = dedent(
    """\
    import torch
    import torch.nn as nn
    from torch.autograd import Variable

    """
)

LOOP = dedent(
    """\
    def train_{index}(model: nn.Module, loader, epochs: int = 3) -> float:
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
        criterion = nn.CrossEntropyLoss()
        total = 0.0
        for epoch in range(epochs):
            model.train()
            for step, (inputs, labels) in enumerate(loader):
                {clear}
                outputs = model(inputs)
                loss = criterion(outputs, labels) * {scale}
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
                optimizer.step()
                total += loss.item()
            scheduler.step()
            with torch.no_grad():
                for inputs, labels in loader:
                    outputs = model({inputs})
                    total -= criterion(outputs, labels).item() * 0.0
        return total

    """
)


def training_script(lines: int) -> str:
    """A script of about ``lines`` lines; every fifth loop forgets zero_grad or uses Variable."""
    parts = [HEADER]
    index = 0
    while sum(part.count("\n") for part in parts) < lines:
        mistake = index % 5 == 4
        parts.append(
            LOOP.format(
                index=index,
                clear="pass" if mistake else "optimizer.zero_grad()",
                scale="1.0",
                inputs="Variable(inputs)" if index % 7 == 6 else "inputs",
            )
        )
        index += 1
    return "".join(parts)


async def measure(changes: int, lines: int) -> list[float]:
    text = training_script(lines)
    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "autograd_lint", "server")
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"), initialization_options={"debounceMs": 0}
        )
    )
    with tempfile.TemporaryDirectory() as folder:
        uri = (Path(folder) / "train.py").as_uri()
        published = client.protocol.wait_for_notification_async(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text)))
        first = await asyncio.wait_for(published, 60)
        print(f"{text.count(chr(10))} lines, {len(first.diagnostics)} diagnostics")
        timings = []
        for version in range(2, changes + 2):
            # A different number on one line each time: every version is a new text to check.
            edited = text.replace("* 1.0", f"* {version}.0", 1)
            published = client.protocol.wait_for_notification_async(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
            start = time.perf_counter()
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    types.VersionedTextDocumentIdentifier(version, uri),
                    [types.TextDocumentContentChangeWholeDocument(edited)],
                )
            )
            result = await asyncio.wait_for(published, 60)
            timings.append((time.perf_counter() - start) * 1000)
            assert result.version == version and len(result.diagnostics) == len(first.diagnostics)
    await client.shutdown_session()
    await client.stop()
    return timings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=60)
    parser.add_argument("--lines", type=int, default=500)
    args = parser.parse_args()
    timings = asyncio.run(measure(args.changes, args.lines))
    p50, p95 = statistics.median(timings), percentile(timings, 0.95)
    print(f"didChange -> publishDiagnostics over {len(timings)} edits: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    text = training_script(args.lines)
    checks = []
    for _ in range(max(5, args.changes // 4)):
        start = time.perf_counter()
        check_source(text, "train.py")
        checks.append((time.perf_counter() - start) * 1000)
    parses = []
    for _ in range(len(checks)):
        start = time.perf_counter()
        libcst.parse_module(text)
        parses.append((time.perf_counter() - start) * 1000)
    print(f"check_source alone, in process: median {statistics.median(checks):.1f} ms")
    print(f"libcst.parse_module alone (the floor of any check): median {statistics.median(parses):.1f} ms")
    print(f"target p50 <= {TARGET_P50_MS} ms: {'met' if p50 <= TARGET_P50_MS else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
