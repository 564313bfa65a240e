"""JAX's trainer for the benchmark worker: the whole epoch one jitted function.

Per epoch a jax.random.permutation, then `lax.scan` over the full batches (gather, forward,
softmax cross-entropy, grad, Adam) and one more step for a last, shorter batch. Adam is
written out (bias-corrected, eps after the square root, as torch.optim.Adam), so only
jax itself is needed. Parameters are initialized as torch.nn.Linear does.
"""
import os

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


def init(key, sizes):
    params = []
    for i, o in zip(sizes, sizes[1:]):
        key, kw, kb = jax.random.split(key, 3)
        bound = 1 / np.sqrt(i)
        params.append((jax.random.uniform(kw, (i, o), jnp.float32, -bound, bound),
                       jax.random.uniform(kb, (o,), jnp.float32, -bound, bound)))
    return params


def logits(params, x):
    for W, b in params[:-1]:
        x = jax.nn.relu(x @ W + b)
    W, b = params[-1]
    return x @ W + b


def loss(params, x, y):
    z = logits(params, x)
    return jnp.mean(jax.nn.logsumexp(z, axis=1) - jnp.take_along_axis(z, y[:, None], 1)[:, 0])


def adam(params, m, v, grads, step, lr):
    m = jax.tree.map(lambda m, g: BETA1 * m + (1 - BETA1) * g, m, grads)
    v = jax.tree.map(lambda v, g: BETA2 * v + (1 - BETA2) * g * g, v, grads)
    m_scale, v_scale = 1 / (1 - BETA1 ** step), 1 / (1 - BETA2 ** step)
    params = jax.tree.map(lambda p, m, v: p - lr * (m * m_scale) / (jnp.sqrt(v * v_scale) + EPS),
                          params, m, v)
    return params, m, v


def make_epoch(n, batch_size, lr):
    """epoch(state, X, y, key) → (state, mean loss) over the first n rows, shuffled."""
    full = n // batch_size

    def train_step(state, X, y, index):
        params, m, v, step = state
        value, grads = jax.value_and_grad(loss)(params, X[index], y[index])
        step = step + 1
        params, m, v = adam(params, m, v, grads, step.astype(jnp.float32), lr)
        return (params, m, v, step), value

    def epoch(state, X, y, key):
        order = jax.random.permutation(key, n)
        batches = order[:full * batch_size].reshape(full, batch_size)
        state, losses = lax.scan(lambda s, index: train_step(s, X, y, index), state, batches)
        total = losses.sum() * batch_size
        if n % batch_size:
            state, last = train_step(state, X, y, order[full * batch_size:])
            total += last * (n % batch_size)
        return state, total / n
    return epoch


class Trainer:
    def __init__(self, spec, X, y):
        key = jax.random.PRNGKey(spec["seed"])
        self.key, init_key = jax.random.split(key)
        params = init(init_key, spec["sizes"])
        zeros = jax.tree.map(jnp.zeros_like, params)
        self.state = (params, zeros, jax.tree.map(jnp.zeros_like, params), jnp.int32(0))
        self.X, self.y = jnp.asarray(X), jnp.asarray(y.astype(np.int32))
        self.function = jax.jit(make_epoch(len(X), spec["batch_size"], spec["lr"]),
                                donate_argnums=0)
        self.compiled = None
        self.version = jax.__version__
        self.threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else os.cpu_count()

    def warm_up(self):
        """Trace and compile the epoch (what jit does on its first call)."""
        self.compiled = self.function.lower(self.state, self.X, self.y, self.key).compile()

    def epoch(self):
        self.key, key = jax.random.split(self.key)
        self.state, value = self.compiled(self.state, self.X, self.y, key)
        jax.block_until_ready(self.state)
        return float(value)
