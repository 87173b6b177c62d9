#!/usr/bin/python3
"""report.py - collects the JSON lines of one benchmark run (qcomp bench
--json and the peers in bench/peers/ write the same fields), prints one table
with ratios of every qcomp row against each peer's fastest config of the same
precision, and writes the results file.

    /usr/bin/python3 bench/report.py --lines RUN.jsonl --extras EXTRAS.json \
        --title "seed FNN ..." -o bench/results/seed.json

Precision families: fp32 rows are compared with the peer's fastest fp32
config; int8 and int8-dynamic rows with the peer's fastest int8 config of
either kind (the question a user asks: "how fast does this run in int8?"),
naming which config that was. Ratios use the median (p50) latency. Rows
with a "case" field (bench/run_models.sh: model and batch) are compared only
within their case.
"""
import argparse
import json
import platform
import subprocess
import sys

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512fp16",
         "amx_tile", "amx_int8", "amx_bf16")


def machine():
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    info = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    flags = set(info.get("Flags", "").split())
    return {
        "cpu": info.get("Model name", "?").strip(),
        "cpus": info.get("CPU(s)", "?").strip(),
        "flags": {f: f in flags for f in FLAGS},
        "kernel": platform.release(),
    }


def family(precision):
    return "fp32" if precision in ("fp32", "none") else "int8"


def label(r):
    case = f"[{r['case']}] " if r.get("case") else ""
    if r["tool"] == "qcomp":
        return f"{case}qcomp {r['backend']} {r['scheme']}"
    return case + r["config"]


def fastest(rows, tool, fam, case):
    cands = [r for r in rows if r["tool"] == tool and family(r["precision"]) == fam
             and r.get("case") == case]
    return min(cands, key=lambda r: r["p50_ms"]) if cands else None


def ratio_line(q, peer):
    x = peer["p50_ms"] / q["p50_ms"]
    word = "faster" if x >= 1 else "slower"
    k = x if x >= 1 else 1 / x
    return (f"{q['config']} is {k:.2f}x {word} than {peer['tool'].upper()}'s fastest "
            f"{family(peer['precision'])} ({peer['config']}: p50 {peer['p50_ms']:.4f} ms "
            f"vs {q['p50_ms']:.4f} ms)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", required=True)
    ap.add_argument("--extras", default=None)
    ap.add_argument("--title", default="benchmark")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    rows = [json.loads(line) for line in open(a.lines) if line.strip()]
    for r in rows:
        if r["tool"] == "qcomp":
            r["precision"] = "fp32" if r["scheme"] in ("fp32", "none") else r["scheme"]
        r["config"] = label(r)
    extras = json.load(open(a.extras)) if a.extras else {}

    print(f"\n{a.title}")
    w = max([40] + [len(r["config"]) for r in rows])
    hdr = (f"{'config':<{w}} {'prec':<13} {'min ms':>9} {'p50 ms':>9} {'p90 ms':>9} "
           f"{'mean ms':>9} {'inf/s':>11} {'cpu %':>6} {'rss MB':>7}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['config']:<{w}} {r['precision']:<13} {r['min_ms']:9.4f} "
              f"{r['p50_ms']:9.4f} {r['p90_ms']:9.4f} {r['mean_ms']:9.4f} "
              f"{r['throughput_per_s']:11.0f} {r['cpu_percent']:6.1f} {r['peak_rss_mb']:7.1f}")

    ratios = []
    peers = sorted({r["tool"] for r in rows if r["tool"] != "qcomp"})
    print("\nratios (p50 latency; > 1x: qcomp is faster)")
    for q in (r for r in rows if r["tool"] == "qcomp"):
        for tool in peers:
            p = fastest(rows, tool, family(q["precision"]), q.get("case"))
            if not p:
                continue
            text = ratio_line(q, p)
            ratios.append({"qcomp": q["config"], "peer": p["config"], "speedup": p["p50_ms"] / q["p50_ms"],
                           "text": text})
            print("  " + text)
    for k, v in extras.items():
        print(f"{k}: {v}")
    result = {"title": a.title, "machine": machine(), "results": rows, "ratios": ratios,
              "extras": extras}
    with open(a.output, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(f"\nwrote {a.output}")


if __name__ == "__main__":
    sys.exit(main())
