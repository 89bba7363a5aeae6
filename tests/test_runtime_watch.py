"""watch(): what a user sees (warnings at their lines, errors, findings), and what it leaves behind."""

from __future__ import annotations

import gc
import runpy
import textwrap
import warnings
import weakref
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import torch.optim.optimizer as optimizer_module  # noqa: E402

from autograd_lint.runtime import (  # noqa: E402
    ALL_CHECKS,
    AutogradLintError,
    AutogradLintWarning,
    MissingZeroGradWarning,
    StaleGraphWarning,
    checks,  # noqa: E402
    watch,
)

NEWCOMER = """
import torch
x = torch.rand(5, requires_grad=True)
target = torch.tensor([1.0, 2, 3, 4, 5])
distance = torch.mean((x - target) ** 2)
for i in range(10):
    distance.backward(retain_graph=True)  # <- backward
    x.data.sub_(0.01 * x.grad.data)
"""


def write(tmp_path: Path, source: str, name: str = "train.py") -> tuple[Path, dict[str, int]]:
    """The script, and the line of each ``# <- label`` marker in it."""
    text = textwrap.dedent(source)
    script = tmp_path / name
    script.write_text(text)
    marks = {line.split("# <- ")[1].strip(): n for n, line in enumerate(text.splitlines(), 1) if "# <- " in line}
    return script, marks


def run(script: Path, **options) -> watch:
    with watch(**options) as monitor:
        runpy.run_path(str(script), run_name="__main__")
    return monitor


def codes(monitor: watch) -> list[tuple[int, str]]:
    return sorted((f.line, f.code) for f in monitor.findings)


# -- what a user sees --------------------------------------------------------------------------


def test_warn_mode_warns_once_per_check_at_the_users_backward_line(tmp_path: Path) -> None:
    script, marks = write(tmp_path, NEWCOMER)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(script)
    ours = [w for w in caught if issubclass(w.category, AutogradLintWarning)]
    assert sorted(w.category.__name__ for w in ours) == ["MissingZeroGradWarning", "StaleGraphWarning"]
    assert {(w.filename, w.lineno) for w in ours} == {(str(script), marks["backward"])}
    stale = next(w for w in ours if w.category is StaleGraphWarning)
    assert str(stale.message).startswith(
        "backward runs through a graph built before x was updated (through .data at line 8)"
    )


def test_a_warnings_filter_turns_one_check_into_an_error(tmp_path: Path) -> None:
    script, marks = write(tmp_path, NEWCOMER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", StaleGraphWarning)
        with pytest.raises(StaleGraphWarning, match="^backward runs through a graph built before x was updated"):
            run(script)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=StaleGraphWarning)
        missing_only = run(script)
    assert [w.category for w in caught if issubclass(w.category, AutogradLintWarning)] == [MissingZeroGradWarning]
    assert codes(missing_only) == [(marks["backward"], "AGL001"), (marks["backward"], "AGL002")]


def test_every_category_is_an_autograd_lint_warning_with_its_own_class() -> None:
    categories = [check.category for check in ALL_CHECKS]
    assert len(set(categories)) == len(categories)
    assert all(issubclass(c, AutogradLintWarning) and issubclass(c, UserWarning) for c in categories)
    # The codes come from the catalog's registry, one record per check, in code order.
    assert [c.code for c in ALL_CHECKS] == sorted({c.code for c in ALL_CHECKS})
    assert all(c.category.check is c for c in ALL_CHECKS)


def test_raise_mode_stops_at_the_first_finding_before_the_stale_backward_runs(tmp_path: Path) -> None:
    script, marks = write(tmp_path, NEWCOMER)
    with pytest.raises(AutogradLintError) as raised:
        run(script, on_finding="raise")
    finding = raised.value.finding
    assert (finding.code, finding.name, finding.path, finding.line) == (
        "AGL001",
        "stale-graph",
        str(script),
        marks["backward"],
    )
    assert isinstance(raised.value, AssertionError)
    assert "AGL001 stale-graph: backward runs through" in str(raised.value)


def test_collect_mode_records_without_warning(tmp_path: Path) -> None:
    script, marks = write(tmp_path, NEWCOMER)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        monitor = run(script, on_finding="collect")
    assert not [w for w in caught if issubclass(w.category, AutogradLintWarning)]
    finding = monitor.findings[0]
    line_text = script.read_text().splitlines()[marks["backward"] - 1]
    assert (finding.column, finding.end_line, finding.end_column) == (5, marks["backward"], len(line_text) + 1)


def test_checks_selects_by_code_or_name_and_rejects_unknown_ones(tmp_path: Path) -> None:
    script, _ = write(tmp_path, NEWCOMER)
    assert [f.code for f in run(script, on_finding="collect", checks=["stale-graph"]).findings] == ["AGL001"]
    assert [f.code for f in run(script, on_finding="collect", checks=["AGL002"]).findings] == ["AGL002"]
    with pytest.raises(ValueError, match="unknown runtime check 'stale'"):
        watch(checks=["stale"])


def test_bad_arguments_say_what_is_expected() -> None:
    with pytest.raises(ValueError, match="on_finding must be one of warn, raise, collect"):
        watch(on_finding="loud")
    with pytest.raises(TypeError, match=r"to decorate a function write @watch\(\)"):
        watch(lambda: None)


# -- what it leaves behind -----------------------------------------------------------------------


def torch_state() -> tuple:
    return (
        torch.Tensor.__dict__.get("data"),
        torch.autograd.backward,
        torch.autograd.grad,
        dict(optimizer_module._global_optimizer_pre_hooks),
        dict(optimizer_module._global_optimizer_post_hooks),
        torch._C._is_torch_function_mode_enabled(),
    )


def test_everything_patched_is_restored_on_exit_on_an_exception_and_on_a_finding(tmp_path: Path) -> None:
    before = torch_state()
    w = torch.zeros(2, requires_grad=True)
    with watch(w, on_finding="collect"):
        assert torch_state() != before
    assert torch_state() == before
    with pytest.raises(KeyError):
        with watch(w):
            raise KeyError("the user's own error")
    assert torch_state() == before
    script, _ = write(tmp_path, NEWCOMER)
    with pytest.raises(AutogradLintError):
        run(script, on_finding="raise")
    assert torch_state() == before


def test_nested_and_repeated_use(tmp_path: Path) -> None:
    script, marks = write(tmp_path, NEWCOMER)
    outer = watch(on_finding="collect")
    inner = watch(on_finding="collect")
    with outer:
        with inner:
            runpy.run_path(str(script), run_name="__main__")
        assert codes(inner) == codes(outer) == [(marks["backward"], "AGL001"), (marks["backward"], "AGL002")]
        other, other_marks = write(tmp_path, NEWCOMER.replace("x", "y"), "other.py")
        runpy.run_path(str(other), run_name="__main__")
    assert len(outer.findings) == 4 and len(inner.findings) == 2
    with inner:  # used again: same place, so nothing new
        runpy.run_path(str(script), run_name="__main__")
    assert len(inner.findings) == 2


def test_decorator(tmp_path: Path) -> None:
    monitor = watch(on_finding="collect")

    @monitor
    def train() -> float:
        x = torch.rand(5, requires_grad=True)
        distance = torch.mean((x - 1) ** 2)
        for _ in range(3):
            distance.backward(retain_graph=True)
            x.data.sub_(0.1 * x.grad)
        return 1.0

    assert train() == 1.0 and train.__name__ == "train"
    assert {f.code for f in monitor.findings} == {"AGL001", "AGL002"}
    assert {f.path for f in monitor.findings} == {__file__}


def test_it_keeps_no_tensor_and_no_graph_alive() -> None:
    monitor = watch(on_finding="collect")
    with monitor:
        model = torch.nn.Linear(4, 4)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        inputs = torch.randn(8, 4)
        hidden = torch.tanh(model(inputs))  # saved by tanh's backward: alive as long as the graph is
        loss = hidden.sum()
        loss.backward(retain_graph=True)
        model.weight.data.mul_(0.5)  # a .data alias the monitor holds until the next backward or step
        optimizer.step()
        refs = [weakref.ref(t) for t in (hidden, loss, model.weight, inputs)]
        model_ref = weakref.ref(model)
        del model, optimizer, inputs, hidden, loss
        gc.collect()
        assert [r() for r in refs] == [None] * 4 and model_ref() is None
    gc.collect()
    assert [r() for r in refs] == [None] * 4


# -- the checks, one mistake each ----------------------------------------------------------------


def test_strict_mode_catches_the_first_backward_through_a_graph_built_before_an_update() -> None:
    def train(w: torch.Tensor) -> None:
        loss = (w * 2).sum()  # the multiplication saves nothing of w, so autograd cannot object
        with torch.no_grad():
            w -= 0.1
        loss.backward()

    with watch(on_finding="collect") as hooks_only:
        train(torch.randn(3, requires_grad=True))
    assert hooks_only.findings == []  # no earlier look at w to compare with
    w = torch.randn(3, requires_grad=True)
    with watch(w, on_finding="collect") as strict:
        train(w)
    [finding] = strict.findings
    assert finding.code == "AGL001"
    assert finding.message.startswith("backward runs through a graph built before w was updated (in place")


def test_strict_mode_names_a_modules_parameters(tmp_path: Path) -> None:
    net = torch.nn.Linear(3, 1)
    optimizer = torch.optim.Adam(net.parameters(), fused=True)
    with watch(net, on_finding="collect") as monitor:
        loss = net(torch.randn(4, 3)).sum()
        optimizer.zero_grad()
        loss.backward(retain_graph=True)
        optimizer.step()
        loss.backward()
    [finding] = monitor.findings
    assert finding.code == "AGL001" and "net.weight" in finding.message and "net.bias" in finding.message
    assert "by Adam.step() at line" in finding.message


def test_a_watched_tensor_that_is_not_a_leaf_is_reported_at_the_watch_line() -> None:
    weights = torch.randn(3, requires_grad=True).to(torch.float64)
    with watch(weights, on_finding="collect") as monitor:  # <- watch
        pass
    [finding] = monitor.findings
    assert (finding.code, finding.path) == ("AGL007", __file__)
    assert finding.message.startswith("weights requires grad but is not a leaf: it was made by ToCopyBackward0")


def test_a_kept_copy_of_a_leaf_is_deliberate_and_silent() -> None:
    with watch(on_finding="collect") as monitor:
        x = torch.randn(3, requires_grad=True)
        x64 = x.to(torch.float64)
        x64.sum().backward()
    assert monitor.findings == [] and x.grad is not None


def test_updates_by_assigning_data_make_a_graph_stale() -> None:
    with watch(on_finding="collect") as monitor:
        w = torch.ones(3, requires_grad=True)
        loss = (w * w).sum()
        w.data = torch.zeros(3)
        loss.backward()
    assert [f.code for f in monitor.findings] == ["AGL001"]
    assert "by assigning .data at line" in monitor.findings[0].message


def test_autograd_grad_through_a_stale_graph() -> None:
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with watch(on_finding="collect") as monitor:
        loss = model(torch.ones(1, 2)).sum()
        loss.backward(retain_graph=True)
        optimizer.step()
        torch.autograd.grad(loss, list(model.parameters()))
    assert [f.code for f in monitor.findings] == ["AGL001"]


def test_a_running_total_that_keeps_every_graph() -> None:
    model = torch.nn.Linear(2, 1)
    with watch(on_finding="collect") as monitor:
        total = 0
        for _ in range(16):
            loss = model(torch.randn(4, 2)).pow(2).mean()
            loss.backward()
            total = total + loss
    [finding] = monitor.findings
    assert finding.code == "AGL006" and finding.message.startswith("3 graphs from earlier backward calls at line")


def test_clipping_does_not_hide_a_missing_zero_grad() -> None:
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    with watch(on_finding="collect") as monitor:
        for _ in range(3):
            model(torch.randn(4, 2)).pow(2).mean().backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1e-3)
            optimizer.step()
    assert [f.code for f in monitor.findings] == ["AGL002"]
    assert monitor.findings[0].message.startswith("SGD.step() uses model.weight.grad, model.bias.grad: they still hold")


def test_a_non_finite_gradient_names_the_parameter_and_suggests_anomaly_mode() -> None:
    scale = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([scale], lr=0.1)
    with watch(on_finding="collect") as monitor:
        torch.sqrt(scale).sum().backward()
        optimizer.step()
    [finding] = monitor.findings
    assert finding.code == "AGL101"
    assert "NaN or infinite values in scale" in finding.message
    assert "torch.autograd.set_detect_anomaly(True)" in finding.message


def _train_until_sqrt_of_zero(steps_before: int, finite_loss: bool) -> list:
    """Steps on a healthy loss, then one whose gradient is infinite (sqrt at 0); the loss
    itself is then finite or not, as asked."""
    scale = torch.ones(1, requires_grad=True)
    optimizer = torch.optim.SGD([scale], lr=0.1)
    with watch(on_finding="collect") as monitor:
        for _ in range(steps_before):
            optimizer.zero_grad()
            (scale * 2).sum().backward()
            optimizer.step()
        optimizer.zero_grad()
        with torch.no_grad():
            scale.zero_()
        loss = torch.sqrt(scale).sum()
        (loss if finite_loss else loss + float("nan")).backward()
        optimizer.step()
        steps_seen = len(monitor.findings)
    return monitor.findings[:steps_seen]


def test_a_non_finite_loss_late_in_training_is_reported_at_that_step() -> None:
    findings = _train_until_sqrt_of_zero(checks.FINITE_SCAN_FIRST_STEPS + 1, finite_loss=False)
    assert [f.code for f in findings] == ["AGL101"]


def test_late_in_training_gradients_are_scanned_every_few_steps() -> None:
    # Step number FINITE_SCAN_EVERY * 3 is a scanned one; the one before it is not.
    scanned = _train_until_sqrt_of_zero(checks.FINITE_SCAN_EVERY * 3 - 1, finite_loss=True)
    skipped = _train_until_sqrt_of_zero(checks.FINITE_SCAN_EVERY * 3 - 2, finite_loss=True)
    assert [f.code for f in scanned] == ["AGL101"]
    assert skipped == []


def test_an_unused_parameter_is_reported_after_enough_steps_without_waiting_for_the_end() -> None:
    used, unused = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([used, unused], lr=0.1)
    with watch(on_finding="collect") as monitor:
        for _step in range(checks.UNUSED_AFTER_STEPS):
            optimizer.zero_grad()
            (used * 2).sum().backward()
            optimizer.step()
        assert [f.code for f in monitor.findings] == ["AGL102"]
        assert monitor.findings[0].message.startswith(
            f"unused (held by SGD) never received a gradient in {checks.UNUSED_AFTER_STEPS} steps"
        )


def test_model_lends_names_to_its_parameters() -> None:
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = torch.nn.Linear(2, 1)
            self.spare = torch.nn.Linear(2, 1)

    def train(module: Net) -> None:  # the optimizer dies with this frame, before the watch ends
        optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
        optimizer.zero_grad()
        module.used(torch.ones(1, 2)).sum().backward()
        optimizer.step()

    with watch(on_finding="collect", model=Net()) as monitor:
        pass
    assert monitor.findings == []
    net = Net()
    with watch(on_finding="collect", model=net) as monitor:
        train(net)
    assert monitor.findings[0].message.startswith("net.spare.weight, net.spare.bias (held by SGD)")


# -- on a GPU --------------------------------------------------------------------------------------

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.cuda
@needs_cuda
def test_on_cuda_a_standard_loop_is_silent_and_a_fused_optimizer_makes_a_graph_stale() -> None:
    model = torch.nn.Linear(8, 1).cuda()
    optimizer = torch.optim.Adam(model.parameters(), fused=True)
    with watch(on_finding="raise"):
        for _ in range(12):
            optimizer.zero_grad()
            model(torch.randn(4, 8, device="cuda")).pow(2).mean().backward()
            optimizer.step()
    with watch(on_finding="collect") as monitor:
        loss = model(torch.randn(4, 8, device="cuda")).pow(2).mean()
        loss.backward(retain_graph=True)
        optimizer.step()
        loss.backward()
    assert [f.code for f in monitor.findings] == ["AGL001"]


@pytest.mark.cuda
@needs_cuda
def test_on_cuda_a_non_finite_gradient_is_reported_without_waiting_on_the_step() -> None:
    scale = torch.zeros(1, device="cuda", requires_grad=True)
    optimizer = torch.optim.SGD([scale], lr=0.1)
    with watch(on_finding="collect") as monitor:
        torch.sqrt(scale).sum().backward()
        optimizer.step()
        assert monitor.findings == []  # read at the next step or at the end, so this step did not sync
    [finding] = monitor.findings
    assert finding.code == "AGL101" and "NaN or infinite values in" in finding.message
