"""The chart of a `fastnn bench` run: seconds per epoch of each framework per workload."""
import numpy as np

from fastnn.bench.frameworks import FRAMEWORKS

PLOT_MISSING = ('matplotlib is needed for --plot: pip install -e ".[plot]" '
                '(or pip install matplotlib)')


def require_matplotlib():
    """Raise ImportError with an install hint when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError as err:
        raise ImportError(PLOT_MISSING) from err


def plot(results, path):
    """A PNG at `path`: grouped bars of seconds per epoch (log scale), one group per
    workload, one bar per framework that ran it. Returns the figure."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    rows = results["workloads"]
    names = [n for n in results["frameworks"]
             if any("seconds" in row["results"].get(n, {}) for row in rows)]
    fig = Figure(figsize=(max(7.0, 1.8 * len(rows) + 2), 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    x = np.arange(len(rows))
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        heights = [row["results"].get(name, {}).get("seconds", np.nan) for row in rows]
        bars = ax.bar(x + (i - (len(names) - 1) / 2) * width, heights, width,
                      label=FRAMEWORKS[name].label)
        ax.bar_label(bars, fmt="%.3g", fontsize=7, padding=1)
    ax.set_xticks(x, [f"{row['label'].replace(', ', chr(10))}\n{row['samples']:,} samples"
                      for row in rows], fontsize=8)
    ax.set(yscale="log", ylabel="seconds per epoch (log scale, lower is better)")
    ax.set_title(f"training, median of {results['settings']['rounds']} round(s), "
                 f"{results['settings']['isa']} instruction set", fontsize=10)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png")
    return fig
