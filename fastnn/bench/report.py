"""The tables `fastnn bench` prints, as aligned text or GitHub markdown.

The markdown is self-contained, to paste into docs/performance.md: date, machine,
versions, settings and the command line come before the tables.
"""
from fastnn.bench.frameworks import FRAMEWORKS

EVEN = 0.01  # ratios within 1% of 1 read "even"


def render(header, rows, markdown=False, numeric=True):
    """A table: GitHub markdown, or plain text with aligned columns.

    The first column is left-aligned; the others right-aligned when `numeric`.
    """
    if markdown:
        rule = " ---: |" if numeric else " --- |"
        lines = ["| " + " | ".join(header) + " |", "| --- |" + rule * (len(header) - 1)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(row[c]) for row in [header] + rows) for c in range(len(header))]

    def line(row):
        return "  ".join(v.rjust(w) if c and numeric else v.ljust(w)
                         for c, (v, w) in enumerate(zip(row, widths))).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def seconds(value):
    """Seconds with three significant digits: 0.00412, 0.330, 7.37, 12.4; 123 from 100 on."""
    return f"{value:#.3g}" if value < 100 else f"{value:.0f}"


def versus(fastnn, peer):
    """fastnn's seconds against the faster peer's: "1.46× faster", "1.78× slower", "even"."""
    if not fastnn or not peer:
        return "–"
    ratio = peer / fastnn
    if abs(ratio - 1) < EVEN:
        return "even"
    return f"{ratio:.2f}× faster" if ratio > 1 else f"{1 / ratio:.2f}× slower"


def faster_peer(row):
    """(name, seconds) of the fastest framework of `row` that is not fastnn, or None."""
    peers = [(name, r["seconds"]) for name, r in row["results"].items()
             if not FRAMEWORKS[name].is_fastnn and "seconds" in r]
    return min(peers, key=lambda peer: peer[1]) if peers else None


def cell(row, name, status, key="seconds"):
    """A framework's number in `row`, or why there is none."""
    result = row["results"].get(name)
    if result is None:
        return status if status != "run" else "–"
    if "error" in result:
        return "failed"
    return seconds(result[key])


def label(name):
    return FRAMEWORKS[name].label


def training_table(results, markdown=False):
    """Seconds per epoch of each framework per workload, the ratio and the floor."""
    names = list(results["frameworks"])
    status = {n: results["frameworks"][n]["status"] for n in names}
    header = ["model, batch", "samples", *(f"{label(n)} s/epoch" for n in names),
              "fastnn vs the faster peer", "GEMM GFLOP/s", "floor s", "fastnn floor fraction"]
    rows = []
    for row in results["workloads"]:
        fastnn = row["results"].get("fastnn", {}).get("seconds")
        peer = faster_peer(row)
        fraction = row["results"].get("fastnn", {}).get("floor_fraction")
        rows.append([row["label"], f"{row['samples']:,}",
                     *(cell(row, n, status[n]) for n in names),
                     versus(fastnn, peer and peer[1]), f"{row['gemm']['gflops']:.0f}",
                     seconds(row["floor_seconds"]),
                     f"{fraction:.0%}" if fraction else "–"])
    return render(header, rows, markdown)


def warm_up_table(results, markdown=False):
    """Seconds of each process's warm-up: compiling (or loading a compiled cache) and the
    first batches; medians over rounds."""
    names = list(results["frameworks"])
    status = {n: results["frameworks"][n]["status"] for n in names}
    header = ["model, batch", *(f"{label(n)} warm-up s" for n in names)]
    rows = [[row["label"], *(cell(row, n, status[n], "warm_up_seconds") for n in names)]
            for row in results["workloads"]]
    return render(header, rows, markdown)


def startup_table(results, markdown=False):
    start = results["startup"]
    rows = [["import fastnn (fresh interpreter)", f"{start['import']:.2f} s"],
            ["cold start: first batch done, empty Numba cache", f"{start['cold']:.2f} s"],
            ["warm start: first batch done, cache filled", f"{start['warm']:.2f} s"]]
    return render(["fastnn start-up", "seconds"], rows, markdown, numeric=False)


ISA_TEXT = {
    "native": "native (each framework uses every instruction the CPU has)",
    "avx2": "AVX2: fastnn NUMBA_CPU_NAME=haswell and NUMBA_CPU_FEATURES without AVX-512; "
            "PyTorch MKL_ENABLE_INSTRUCTIONS=AVX2, ATEN_CPU_CAPABILITY=avx2, "
            "ONEDNN_MAX_CPU_ISA=AVX2; JAX XLA_FLAGS=--xla_cpu_max_isa=AVX2",
}


def header(results, markdown=False):
    """Date, command, machine, versions and settings, one fact a line."""
    m, s = results["machine"], results["settings"]
    v = m["versions"]
    simd = f" ({', '.join(m['simd'])})" if m["simd"] else ""
    cores = f"{m['cores']} cores, " if m["cores"] else ""
    load = m.get("load") or [None, None]
    load = (f"; load average {load[0]:.1f} at the start, {load[1]:.1f} at the end"
            if None not in load else "")
    versions = [f"Python {m['python']}", f"fastnn {v['fastnn']}", f"NumPy {v['numpy']}",
                f"Numba {v['numba']}"]
    for name, info in results["frameworks"].items():
        if not FRAMEWORKS[name].is_fastnn:
            found = info["version"] or v.get(FRAMEWORKS[name].distribution)
            versions.append(f"{label(name)} {found or 'not installed'}")
    threads = {label(n): r["threads"] for row in results["workloads"]
               for n, r in row["results"].items() if r.get("threads")}
    given = f"{s['threads']} for each" if s["threads"] else "each framework's default"
    used = ", ".join(f"{n} {t}" for n, t in threads.items())
    command = results.get("command")
    facts = [
        ("date", m["date"]),
        ("command", (f"`{command}`" if markdown else command) if command else None),
        ("machine", f"{m['cpu']}{simd}, {cores}{m['logical_cpus']} logical CPUs, "
                    f"{m['system']}{load}"),
        ("versions", ", ".join(versions)),
        ("threads", given + (f" (in use: {used})" if used else "")),
        ("instruction set", ISA_TEXT[s["isa"]]),
        ("workload", f"{s['data']}; ReLU MLP, softmax + cross-entropy, Adam lr 1e-3, "
                     f"float32, shuffled batches; an epoch is one pass over `samples` rows"),
        ("timing", f"each framework in its own process with its default settings; seconds "
                   f"per epoch are the median over {s['rounds']} round(s) (processes, "
                   f"interleaved) of the best of {s['epochs_per_process']} epochs after a "
                   f"warm-up"),
        ("floor", "the epoch's matrix-product FLOPs at the best float32 GEMM rate measured "
                  "here at the workload's shapes (NumPy's matmul or fastnn's)"),
    ]
    bullet = "- " if markdown else ""
    return "\n".join(f"{bullet}{key}: {value}" for key, value in facts if value)


WARM_UP = ("Warm-up, before the timed epochs: fastnn and PyTorch train two batches (fastnn "
           "compiles its kernels, or loads them from Numba's cache); JAX traces and compiles "
           "the jitted epoch.")


def report(results, markdown=False):
    """Everything `fastnn bench` prints: the header, the tables and the notes."""
    parts = [header(results, markdown), training_table(results, markdown), WARM_UP,
             warm_up_table(results, markdown)]
    if results.get("startup"):
        parts.append(startup_table(results, markdown))
    notes = list(results["notes"])
    if any(row["results"].get("fastnn", {}).get("floor_fraction", 0) > 1
           for row in results["workloads"]):
        notes.append("a floor fraction above 100% means the GEMM rate was measured in a "
                     "slow phase of the machine, or that fastnn skipped zeros of the input")
    if notes:
        parts.append("\n".join(("- " if markdown else "note: ") + n for n in notes))
    return "\n\n".join(parts)
