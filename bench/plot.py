#!/usr/bin/python3
"""plot.py - bar chart of a results file written by bench/report.py.

    /usr/bin/python3 bench/plot.py bench/results/seed.json -o bench/results/seed.png

One bar per config: median (p50) latency in ms on a log scale (the ref
interpreter and the fastest peers are orders of magnitude apart), the
min..p90 spread as an error bar, colour by tool, hatched when quantized.
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")  # no display: write files only
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"qcomp": "#1f77b4", "ort": "#2ca02c", "torch": "#d62728"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    res = json.load(open(a.results))
    rows = res["results"]
    names = [r["config"] for r in rows]
    p50 = [r["p50_ms"] for r in rows]
    lo = [r["p50_ms"] - r["min_ms"] for r in rows]
    hi = [max(r["p90_ms"] - r["p50_ms"], 0) for r in rows]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(rows) + 1.8))
    ys = range(len(rows))
    bars = ax.barh(ys, p50, xerr=[lo, hi], color=[COLOURS.get(r["tool"], "grey") for r in rows],
                   capsize=2)
    for b, r in zip(bars, rows):
        if r["precision"] != "fp32":
            b.set_hatch("//")
    for y, v in zip(ys, p50):
        ax.text(v * 1.08, y, f"{v:.3g} ms", va="center", fontsize=8)
    ax.set_yticks(list(ys))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("median latency per batch, ms (log scale; bars: min..p90)")
    m = res.get("machine", {})
    ax.set_title(f"{res.get('title', '')}\n{m.get('cpu', '')}, {m.get('cpus', '?')} CPUs",
                 fontsize=10)
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(a.output, dpi=110)
    print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
