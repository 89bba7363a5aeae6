"""Every runtime check, as its warning category; the docstring is the check's documentation."""

from __future__ import annotations

from .catalog import AutogradLintWarning, runtime_check


@runtime_check("AGL001", "stale-graph", runtime_only=False)
class StaleGraphWarning(AutogradLintWarning):
    """AGL001: backward ran through a graph built before one of its leaves was updated.

    ## What it does
    Reports a backward (or `torch.autograd.grad`) whose graph uses a leaf in a node built before
    that leaf's last update: an optimizer step (fused ones too), a write through `.data`, or an
    in-place change under `no_grad`. Every use in the graph counts, not just the newest, so state
    carried across chunks without `detach()` is caught.

    ## Why is this bad?
    The gradients are those of the old values. `.data` writes and fused optimizers bump no version
    counter, and `retain_graph=True` silences "backward through the graph a second time", so torch
    itself says nothing.

    ## Example
    ```python
    loss = model(x).pow(2).mean()
    for step in range(10):
        loss.backward(retain_graph=True)
        optimizer.step()
    ```

    ## Use instead
    ```python
    for step in range(10):
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
    ```

    ## Known false positives
    Graphs built on several threads are ordered per thread; a CUDA double backward (whose nodes a
    worker thread numbers) makes the check compare only the newest use of each leaf.
    """


@runtime_check("AGL002", "missing-zero-grad", runtime_only=False)
class MissingZeroGradWarning(AutogradLintWarning):
    """AGL002: an update used a gradient still holding contributions from before the previous update.

    ## What it does
    Reports an optimizer step whose `.grad` still holds gradients from before the previous step,
    and a backward into the `.grad` of a hand-updated tensor that still holds the gradient from
    before its last update.

    ## Why is this bad?
    Gradients accumulate: every update then uses the sum of all past gradients, and training
    diverges or crawls.

    ## Example
    ```python
    for x, y in batches:
        loss_fn(model(x), y).backward()
        optimizer.step()
    ```

    ## Use instead
    ```python
    for x, y in batches:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    ```

    ## Known false positives
    Gradient accumulation over several backward calls per step, GANs and LBFGS closures are
    silent; a gradient deliberately carried across steps is reported.
    """


@runtime_check("AGL006", "loss-kept-with-graph", runtime_only=False)
class LossKeptWithGraphWarning(AutogradLintWarning):
    """AGL006: graphs of earlier iterations are kept alive.

    ## What it does
    Reports when three or more graphs from one backward line are still alive ten or more backward
    calls later.

    ## Why is this bad?
    Something keeps each iteration's loss or output with its graph (`losses.append(loss)`,
    `total += loss`): memory grows every step until the process runs out.

    ## Example
    ```python
    total = 0
    for x, y in batches:
        loss = loss_fn(model(x), y)
        loss.backward()
        total += loss
    ```

    ## Use instead
    ```python
    total = 0.0
    for x, y in batches:
        loss = loss_fn(model(x), y)
        loss.backward()
        total += loss.item()
    ```

    ## Known false positives
    Deliberately kept graphs (a later second-order pass over a window of losses) are reported.
    """


@runtime_check("AGL007", "non-leaf-parameter", runtime_only=False)
class NonLeafParameterWarning(AutogradLintWarning):
    """AGL007: a tensor meant as a parameter is not a leaf, so its ``.grad`` never fills.

    ## What it does
    Reports a variable, or a plain tensor attribute of a module the training code holds, that is a
    moved or cast copy (`.to(device)`, `.double()`) of a `requires_grad` tensor nobody else keeps.

    ## Why is this bad?
    The copy is not a leaf: its `.grad` stays None, an optimizer handed it never changes it, and
    the real leaf is unreachable.

    ## Example
    ```python
    self.log_k = torch.zeros(1, requires_grad=True).to(device)
    ```

    ## Use instead
    ```python
    self.log_k = torch.nn.Parameter(torch.zeros(1, device=device))
    ```

    ## Known false positives
    A copy whose leaf is still held (`x_gpu = x.to(device)` with `x` kept, or a module's parameter
    cast for use) is deliberate and silent.
    """


@runtime_check("AGL016", "clip-outside-backward-step", runtime_only=False)
class ClipOutsideBackwardStepWarning(AutogradLintWarning):
    """AGL016: gradients clipped when none produced since the last update exists.

    ## What it does
    Reports `torch.nn.utils.clip_grad_norm_` or `clip_grad_value_` called on parameters whose
    gradients are all None, or all unchanged since the last `step()`: clipping after the step, or
    before backward on cleared gradients.

    ## Why is this bad?
    The clip changes nothing that an update will use: training runs unclipped, and the exploding
    gradients it was meant to stop are not stopped.

    ## Example
    ```python
    loss.backward()
    optimizer.step()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    ```

    ## Use instead
    ```python
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    ```

    ## Known false positives
    Seen only for parameters that got a gradient under the monitor, so a first iteration and the
    parameters of a model only evaluated stay silent.
    """


@runtime_check("AGL017", "clip-before-unscale", runtime_only=False)
class ClipBeforeUnscaleWarning(AutogradLintWarning):
    """AGL017: gradients clipped while still multiplied by a GradScaler's scale.

    ## What it does
    Reports a clip of the parameters of an optimizer whose enabled `GradScaler` has not unscaled it
    in this iteration (`scaler.unscale_(optimizer)` not yet called).

    ## Why is this bad?
    The gradients are still multiplied by the loss scale (65536 at first): a max norm of 1.0 clips
    them to almost nothing, and the scale's changes make the effective threshold drift.

    ## Example
    ```python
    scaler.scale(loss).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    ```

    ## Use instead
    ```python
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    ```

    ## Known false positives
    Needs the scaler's private per-optimizer state (`_per_optimizer_states`); without it the check
    says so once and is skipped. A scaler is known from its first `step()`, so the first iteration
    is not checked.
    """


@runtime_check("AGL101", "non-finite-gradient")
class NonFiniteGradientWarning(AutogradLintWarning):
    """AGL101: an optimizer step is about to use a NaN or infinite gradient.

    ## What it does
    Scans the gradients an optimizer step is about to use for NaN or inf: every step at first,
    then every 8th and the step after a non-finite loss (a NaN in the weights stays there, so a
    later scan still sees it). On an accelerator the verdict stays on the device and is read later,
    so no step waits for it.

    ## Why is this bad?
    One NaN gradient turns the weights into NaN for good, and the loss curve only shows it later.

    ## Example
    ```python
    loss = torch.sqrt(weights).sum()  # weights reaching 0: an infinite gradient
    loss.backward()
    optimizer.step()
    ```

    ## Use instead
    ```python
    loss = torch.sqrt(weights.clamp_min(1e-8)).sum()
    loss.backward()
    optimizer.step()
    ```

    ## Known false positives
    A `GradScaler` step with its own inf check (`found_inf`) is skipped, as it discards such steps.
    """


@runtime_check("AGL102", "unused-parameter")
class UnusedParameterWarning(AutogradLintWarning):
    """AGL102: an optimizer holds a parameter that never receives a gradient.

    ## What it does
    Reports the parameters of an optimizer that no step saw with a gradient: after 100 steps, when
    the optimizer is gone, or when the watch ends.

    ## Why is this bad?
    A layer built and never used in the loss (or cut off by a `detach()`) never trains, and costs
    memory in the optimizer's state.

    ## Example
    ```python
    self.auxiliary = nn.Linear(8, 1)  # never called in forward
    ```

    ## Use instead
    ```python
    # remove the layer, or use it in forward, or set requires_grad=False
    ```

    ## Known false positives
    A parameter meant to train only in a later phase is reported in the earlier one.
    """


@runtime_check("AGL103", "parameter-not-optimized")
class ParameterNotOptimizedWarning(AutogradLintWarning):
    """AGL103: a leaf gets a gradient on every update, and no optimizer holds it.

    ## What it does
    Reports, once, a leaf that requires grad and receives a gradient on several consecutive
    optimizer updates while none of the stepping optimizers holds it, named by its module path.

    ## Why is this bad?
    Its gradient is computed and thrown away: the tensor never changes. Typical causes: layers
    kept in a plain Python list (not `nn.ModuleList`), a head replaced after the optimizer was
    built, a forgotten param group.

    ## Example
    ```python
    self.layers = [nn.Linear(8, 8) for _ in range(3)]
    ```

    ## Use instead
    ```python
    self.layers = nn.ModuleList(nn.Linear(8, 8) for _ in range(3))
    ```

    ## Known false positives
    A tensor trained by hand beside an optimizer (its own update rule under `no_grad`) is reported
    unless it is updated in place, which the monitor counts as an update.
    """
