"""The training loop over a run of mini-batches, written once for both kernel modules.

One step is what ``fastnn.Sequential.train_step`` does from Python: gather the batch,
call every layer's forward kernel, the fused loss kernel, every layer's backward kernel
in reverse, then one optimizer kernel over the flat parameter buffer. `train_steps` runs
many such steps in one call, so the Numba backend pays Python's call overhead once per
run of steps instead of a dozen times per step (at batch 32, an MNIST epoch is 1,875
steps). `predict_rows` runs the forward pass over many rows in one call the same way, for
inference.

The functions below are never called from this module. `define_in` copies them into a
kernel module's namespace, where their global names (``dense_forward``, ``adam_step``, …)
resolve to that module's kernels: ``kernels.reference.train_steps`` runs this code as
Python over the NumPy kernels, ``kernels.numba_cpu.train_steps`` is the same code compiled
by Numba over the Numba kernels.

The model is described by two small tables, one row per layer; buffers are flat:

    layers (L, 9) int64      KIND, N_IN, N_OUT, W_AT, ACT, OUT_AT, DOUT_AT, DZ_AT, Z_AT
                             (Z_AT < 0: z not kept; for Dropout, W_AT holds its column
                             offset in a step's block of masks)
    layer_floats (L, 4)      ALPHA, L1, L2, RATE
    hyper (9,) float64       LR, BETA1, BETA2, EPS, WEIGHT_DECAY, MOMENTUM, NESTEROV,
                             RMS_ALPHA, CLIP_NORM (≤ 0: no clipping)
"""
import math
import types

from fastnn.kernels import LINEAR

KIND, N_IN, N_OUT, W_AT, ACT, OUT_AT, DOUT_AT, DZ_AT, Z_AT = range(9)
ALPHA, L1, L2, RATE = range(4)
LR, BETA1, BETA2, EPS, WEIGHT_DECAY, MOMENTUM, NESTEROV, RMS_ALPHA, CLIP_NORM = range(9)
DENSE, DROPOUT = 0, 1
CCE, BCE, MSE = 0, 1, 2
SGD, ADAM, RMSPROP = 0, 1, 2
# A batch of rows up to this size is prefetched during the step before it: MNIST at batch
# 32, 0.359 → 0.341 s per epoch. A larger one evicts the step's own data from L2: batch
# 128 0.180 → 0.198 s, batch 512 0.129 → 0.144 s (interleaved runs, 2 threads).
PREFETCH_BYTES = 131_072
MASK_AT = W_AT  # a Dropout row has no weights: that column holds its offset into the masks


def _matrix(flat, at, rows, cols):
    """The (rows, cols) C-ordered view of flat[at:at + rows·cols]."""
    return flat[at:at + rows * cols].reshape((rows, cols))


def _forward(work, scratch, params, masks, mask_at, x, layers, layer_floats, training,
             dropout):
    """Every layer's forward kernel on the batch x (n, I), with the layers' shared
    scratch (``kernels.scratch.dense_scratch``). Training: the last layer stops
    at logits, and with `dropout` Dropout masks are read from masks[mask_at:], n rows per
    layer. Not training: the last layer applies its activation and Dropout passes its
    input on.
    """
    n = x.shape[0]
    last = layers.shape[0] - 1
    for i in range(last + 1):
        row = layers[i]
        out = _matrix(work, row[OUT_AT], n, row[N_OUT])
        if row[KIND] == DENSE:
            W = _matrix(params, row[W_AT], row[N_IN], row[N_OUT])
            b = params[row[W_AT] + row[N_IN] * row[N_OUT]:][:row[N_OUT]]
            z = _matrix(work, max(row[Z_AT], 0), n if row[Z_AT] >= 0 else 0, row[N_OUT])
            dense_forward(out, z, scratch, x, W, b,  # noqa: F821
                          LINEAR if training and i == last else row[ACT],
                          float(layer_floats[i, ALPHA]))
        elif training and dropout:
            mask = _matrix(masks, mask_at + n * row[MASK_AT], n, row[N_OUT])
            dropout_forward(out, x, mask, float(layer_floats[i, RATE]))  # noqa: F821
        else:
            continue
        x = out
    return x


def _step_backward(work, scratch, params, grads, masks, mask_at, x, layers, layer_floats,
                   dropout, penalties):
    """Every layer's backward kernel, last to first; the last layer's dout holds dlogits.
    scratch: as for `_forward`.

    Returns the layers' L1/L2 penalty on the weights the forward pass used (with
    `penalties`; without, there is none).
    """
    n = x.shape[0]
    last = layers.shape[0] - 1
    penalty = 0.0
    for i in range(last, -1, -1):
        row = layers[i]
        alpha, l1, l2 = float(layer_floats[i, ALPHA]), float(layer_floats[i, L1]), \
            float(layer_floats[i, L2])
        dout = _matrix(work, row[DOUT_AT], n, row[N_OUT])
        if i == 0:
            # no input gradient needed; not _matrix(work, 0, 0, …): literal 0s, one more compile
            x_in, dx = x, work[:0].reshape((0, row[N_IN]))
        else:
            x_in = _matrix(work, layers[i - 1, OUT_AT], n, row[N_IN])
            dx = _matrix(work, layers[i - 1, DOUT_AT], n, row[N_IN])
        if row[KIND] == DENSE:
            W = _matrix(params, row[W_AT], row[N_IN], row[N_OUT])
            dW = _matrix(grads, row[W_AT], row[N_IN], row[N_OUT])
            db = grads[row[W_AT] + row[N_IN] * row[N_OUT]:][:row[N_OUT]]
            z = _matrix(work, max(row[Z_AT], 0), n if row[Z_AT] >= 0 else 0, row[N_OUT])
            dense_backward(dx, dW, db, _matrix(work, row[DZ_AT], n, row[N_OUT]),  # noqa: F821
                           scratch, x_in, W, _matrix(work, row[OUT_AT], n, row[N_OUT]), z, dout,
                           LINEAR if i == last else row[ACT], alpha, l1, l2)
            if penalties and (l1 != 0 or l2 != 0):
                penalty += weight_penalty(W, l1, l2)  # noqa: F821
        elif dropout:
            mask = _matrix(masks, mask_at + n * row[MASK_AT], n, row[N_OUT])
            dropout_backward(dx, dout, mask, float(layer_floats[i, RATE]))  # noqa: F821
    return penalty


def _step_update(params, grads, state, optimizer, hyper, step, clip):
    """Clip the gradients if asked (`clip`), then one optimizer kernel; `step` counts this
    update."""
    # float(): Python floats, so that the NumPy kernels compute as when called from Python
    lr, eps = float(hyper[LR]), float(hyper[EPS])
    if clip and hyper[CLIP_NORM] > 0:
        clip_grad_norm(grads, float(hyper[CLIP_NORM]))  # noqa: F821
    if optimizer == SGD:
        sgd_step(params, state[0], grads, lr, float(hyper[MOMENTUM]),  # noqa: F821
                 hyper[NESTEROV] != 0)
    elif optimizer == ADAM:
        adam_step(params, state[0], state[1], grads, lr, float(hyper[BETA1]),  # noqa: F821
                  float(hyper[BETA2]), eps, float(hyper[WEIGHT_DECAY]), step)
    else:
        rmsprop_step(params, state[0], grads, lr, float(hyper[RMS_ALPHA]), eps)  # noqa: F821


def train_steps(losses, hits, params, grads, state, work, scratch, x_work, label_work, y_work,
                X, labels, Y, order, masks, layers, layer_floats, first, loss, optimizer, hyper,
                step, dropout, penalties, clip):
    """Run up to S = losses.size optimizer steps; return how many were made.

    losses (S,) float64, hits (S,) int64: each step's loss (with penalties) and correct
    predictions.  params, grads (P,); state (K, P): the optimizer's arrays (Adam: m, v).
    work: the layers' flat workspace; scratch: the dense kernels', as large as the largest
    layer needs (``kernels.scratch.dense_scratch``: then no step allocates).
    x_work (R, I), label_work (R,) or y_work (R, O): the batch, R = rows per batch.
    X (N, I) and labels (N,) integers (loss CCE) or Y (N, O) targets (BCE, MSE): the
    training set.  order (N,): this epoch's sample order;
    step s uses batch b = first + s, the samples order[b·R:(b+1)·R].  masks: uniform draws
    for the Dropout layers, each step's block (n, width) per layer in turn.  layers,
    layer_floats, hyper: see the module docstring.  step: updates made before this call.
    dropout, penalties, clip: whether the model has Dropout layers, L1/L2 penalties, a
    gradient clip; a False one is neither compiled nor run (ValueError if the tables
    disagree).

    A step whose loss is not finite makes no update and ends the run: the parameters stay
    those of the last finite step.
    """
    rows = x_work.shape[0]
    mask_width = 0
    for i in range(layers.shape[0]):
        if layers[i, KIND] == DROPOUT:
            mask_width += layers[i, N_OUT]
        penalized = layer_floats[i, L1] != 0 or layer_floats[i, L2] != 0
        if (layers[i, KIND] == DROPOUT and not dropout) or (penalized and not penalties):
            raise ValueError("train_steps: the layers use dropout or a penalty that its "
                             "arguments say they do not")
    if hyper[CLIP_NORM] > 0 and not clip:
        raise ValueError("train_steps: hyper asks for clipping that clip=False leaves out")
    mask_at = 0 * mask_width  # int64 from the start: from `mask_at = 0`, Numba compiled
    # _forward and _step_backward twice, for Literal[int](0) and for int64
    last = layers.shape[0] - 1
    uniform = params[:0]  # empty sample weights: the loss is a plain mean (weighted fits
    # run step by step, fastnn.epoch.StepByStep)
    prefetch = rows * X.shape[1] * X.itemsize <= PREFETCH_BYTES
    for s in range(losses.size):
        start = (first + s) * rows
        index = order[start:start + rows]
        n = index.size
        x = x_work[:n]
        gather_rows(x, X, index)  # noqa: F821
        if prefetch and s + 1 < losses.size:  # the next batch loads while this one computes
            prefetch_rows(X, order[start + rows:start + 2 * rows])  # noqa: F821
        logits = _forward(work, scratch, params, masks, mask_at, x, layers, layer_floats,
                          True, dropout)
        dlogits = _matrix(work, layers[last, DOUT_AT], n, layers[last, N_OUT])
        if loss == CCE:
            batch_labels = label_work[:n]
            for r in range(n):
                batch_labels[r] = labels[index[r]]
            value = softmax_cce(dlogits, logits, batch_labels, uniform)  # noqa: F821
            hits[s] = argmax_hits(logits, batch_labels)  # noqa: F821
        else:
            targets = y_work[:n]
            gather_rows(targets, Y, index)  # noqa: F821
            if loss == BCE:
                value = sigmoid_bce(dlogits, logits, targets, uniform)  # noqa: F821
                hits[s] = threshold_hits(logits, targets)  # noqa: F821
            else:
                value = mse(dlogits, logits, targets, uniform)  # noqa: F821
                hits[s] = 0
        value += _step_backward(work, scratch, params, grads, masks, mask_at, x, layers,
                                layer_floats, dropout, penalties)
        losses[s] = value
        if not abs(value) < math.inf:  # math.isfinite is always True under fastmath nsz+reassoc
            return s
        _step_update(params, grads, state, optimizer, hyper, step + s + 1, clip)
        mask_at += n * mask_width
    return losses.size


def predict_rows(out, work, scratch, X, params, layers, layer_floats, rows):
    """out (N, O): the model's outputs (the last layer's activation) for X (N, I), `rows`
    samples at a time through the workspace and scratch; Dropout passes its input on."""
    for start in range(0, X.shape[0], rows):
        x = X[start:start + rows]
        out[start:start + x.shape[0]] = _forward(work, scratch, params, params[:0], 0, x,
                                                 layers, layer_floats, False, False)


FUNCTIONS = (_matrix, _forward, _step_backward, _step_update, train_steps, predict_rows)
HELPERS = {"_matrix", "_step_update"}  # linked: inlined where called. _forward and
# _step_backward are kernels of their own, so that a cold start compiles them in parallel
# (kernels.cold_start)
# Arguments that stay the same through a model's fit: compiled for their values, so that
# train_steps compiles only the kernels of the model's loss and optimizer, and those of
# dropout, penalties and clipping only when the model has them
CONSTANTS = {"train_steps": ("loss", "optimizer", "dropout", "penalties", "clip")}
KERNELS = ("dense_forward", "dense_backward", "dropout_forward", "dropout_backward",
           "softmax_cce", "sigmoid_bce", "mse", "argmax_hits", "threshold_hits",
           "gather_rows", "prefetch_rows", "weight_penalty", "clip_grad_norm", "sgd_step",
           "adam_step", "rmsprop_step")


def define_in(kernel_module, decorate=None):
    """This module's functions over the kernels of `kernel_module` (its globals()),
    each wrapped by `decorate` (``kernels.compile.jit``, told which are HELPERS and which
    CONSTANTS they have), added to kernel_module; returns (train_steps, predict_rows).
    """
    scope = dict(globals())  # the constants above, math, LINEAR
    scope.update({name: kernel_module[name] for name in KERNELS})
    for f in FUNCTIONS:
        g = types.FunctionType(f.__code__, scope, f.__name__, f.__defaults__)
        g.__doc__, g.__qualname__ = f.__doc__, f.__qualname__
        if decorate:
            g = decorate(g, linked=f.__name__ in HELPERS,
                         constants=CONSTANTS.get(f.__name__, ()))
        scope[f.__name__] = kernel_module[f.__name__] = g
    return scope["train_steps"], scope["predict_rows"]
