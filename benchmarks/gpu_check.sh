#!/usr/bin/env bash
# For a lent GPU machine, in under a minute: which private autograd APIs this torch has, the demo
# on CUDA, the CUDA tests (the fixed verbatim question script among them), and the overhead on the GPU. Run from anywhere: bash benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}

# The package maps runtime/ to autograd_lint.runtime at install time; without a network, an
# editable install may fail, so fall back to a folder of links that gives the same layout.
if ! $PY -c "import autograd_lint.runtime" 2>/dev/null; then
    if ! $PY -m pip install --quiet --no-deps --no-build-isolation -e . 2>/dev/null; then
        shim=$(mktemp -d)
        mkdir "$shim/autograd_lint"
        ln -s "$PWD"/autograd_lint/* "$shim/autograd_lint/"
        ln -s "$PWD/runtime" "$shim/autograd_lint/runtime"
        export PYTHONPATH="$shim${PYTHONPATH:+:$PYTHONPATH}"
    fi
fi

$PY - <<'PYTHON'
import torch
from autograd_lint.runtime import _graph, _patches
print(f"torch {torch.__version__}, CUDA {torch.cuda.is_available()}",
      torch.cuda.get_device_name() if torch.cuda.is_available() else "")
print(f"Node._sequence_nr {_graph.HAS_SEQUENCE_NR}, _get_sequence_nr {_graph._peek is not None}, "
      f"Node.metadata {_graph.HAS_METADATA}, optimizer hooks {_patches.HAS_OPTIMIZER_HOOKS}, "
      f"TorchFunctionMode {_patches.HAS_TORCH_FUNCTION_MODE}")
PYTHON
$PY -c "from autograd_lint.runtime_cli import demo; demo(['--device', 'cuda', '--iterations', '1000'])"
$PY -m pytest -q -p no:cacheprovider -m cuda tests/test_demo.py tests/test_runtime_watch.py
$PY -m pytest -q -p no:cacheprovider tests/test_runtime_fixtures.py
$PY benchmarks/bench_runtime.py --device cuda --rounds 30
$PY -m pytest -q -p no:cacheprovider -m cuda tests/test_fix_question_verbatim.py
