#!/usr/bin/env python3
"""Print bench/run.sh's summary: medians of every benchmark against the targets.

    python3 bench/summarize.py --gbench bench_resolver.json --rss rss.txt \
        --hyperfine hyperfine.json --cold-load hyperfine-load.json

Targets: resolve median <= 1 us at 100k releases and flat from 1k to 100k (the
largest catalog's median at most 1.5x the smallest's); load of 10k releases
<= 0.5 s; `agentdl resolve` <= 5 ms per run. Output is a Markdown table.
"""

import argparse
import json

UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def gbench_medians(path):
    """Returns {(name, releases): median time in ns} from Google Benchmark JSON:
    wall time for load (it reads a file), CPU time for resolve (pure computation;
    on a shared machine its wall time also counts time taken by other tenants)."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name, releases = b["run_name"].split("/")[:2]
        clock = "real_time" if name == "load" else "cpu_time"
        out[(name, int(releases))] = b[clock] * UNIT_NS[b["time_unit"]]
    return out


def read_rss(path):
    """Returns {releases: {key: int}} from load_rss lines."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = dict(kv.split("=", 1) for kv in line.split())
            out[int(fields["releases"])] = {k: int(v) for k, v in fields.items()}
    return out


def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def fmt_mib(kib):
    return f"{kib / 1024:.1f} MiB"


def verdict(ok):
    return "met" if ok else "**MISSED**"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gbench", required=True)
    parser.add_argument("--rss", required=True)
    parser.add_argument("--hyperfine", required=True)
    parser.add_argument("--cold-load", help="hyperfine JSON of `agentdl check` per size (-L n)")
    args = parser.parse_args()

    medians = gbench_medians(args.gbench)
    sizes = sorted({n for _, n in medians})
    lines = ["| benchmark | " + " | ".join(f"{n:,} releases" for n in sizes) + " |",
             "|---|" + "---:|" * len(sizes)]
    for name, clock in (("load", "wall"), ("resolve_latest", "CPU"), ("resolve_version", "CPU")):
        cells = [fmt_ns(medians[(name, n)]) if (name, n) in medians else "-" for n in sizes]
        lines.append(f"| {name} ({clock}) | " + " | ".join(cells) + " |")
    cold = {}
    if args.cold_load:
        with open(args.cold_load, encoding="utf-8") as f:
            for r in json.load(f)["results"]:
                cold[int(r["parameters"]["n"])] = r["median"] * 1e9
        cells = [fmt_ns(cold[n]) if n in cold else "-" for n in sizes]
        lines.append("| cold load: `agentdl check` process (wall) | " + " | ".join(cells) + " |")

    rss = read_rss(args.rss)
    base = rss.get(0)
    for key, label in (("peak_kib", "peak RSS (load_rss)"),
                       ("retained_kib", "RSS after load"),
                       ("heap_kib", "heap held by the catalog"),
                       ("trimmed_kib", "RSS after malloc_trim"),
                       ("check_peak_kib", "peak RSS (agentdl check)")):
        if not base or key not in base:
            continue
        cells = [fmt_mib(rss[n][key]) if n in rss else "-" for n in sizes]
        lines.append(f"| {label}, baseline {fmt_mib(base[key])} | " + " | ".join(cells) + " |")
    print("\n".join(lines))

    with open(args.hyperfine, encoding="utf-8") as f:
        runs = json.load(f)["results"]
    print()
    print("| process (hyperfine) | median | mean ± σ | × /bin/true |")
    print("|---|---:|---:|---:|")
    true_median = next((r["median"] for r in runs if r["command"] == "/bin/true"), None)
    for r in runs:
        ratio = f"{r['median'] / true_median:.2f}" if true_median else "-"
        command = r["command"].split("/apps/agentdl-cli/")[-1]
        print(f"| `{command}` | {r['median'] * 1e3:.2f} ms | "
              f"{r['mean'] * 1e3:.2f} ± {r['stddev'] * 1e3:.2f} ms | {ratio} |")
    cli = next((r for r in runs if r["command"].split()[1:2] == ["resolve"]), None)

    print()
    print("| target | measured (median) | verdict |")
    print("|---|---|---|")
    small, large = sizes[0], sizes[-1]
    for name in ("resolve_latest", "resolve_version"):
        if (name, large) not in medians:
            continue
        at_large = medians[(name, large)]
        ratio = at_large / medians[(name, small)]
        print(f"| {name} ≤ 1 µs at {large:,} | {fmt_ns(at_large)} | {verdict(at_large <= 1e3)} |")
        print(f"| {name} flat {small:,} → {large:,} (≤ 1.5×) | {ratio:.2f}× | "
              f"{verdict(ratio <= 1.5)} |")
    if ("load", 10000) in medians:
        load = medians[("load", 10000)]
        print(f"| load of 10,000 releases ≤ 0.5 s (in process, repeated) | {fmt_ns(load)} | "
              f"{verdict(load <= 0.5e9)} |")
    if 10000 in cold:
        load = cold[10000]
        print(f"| load of 10,000 releases ≤ 0.5 s (cold: whole `agentdl check`) | {fmt_ns(load)} | "
              f"{verdict(load <= 0.5e9)} |")
    if cli:
        print(f"| `agentdl resolve` ≤ 5 ms per run | {cli['median'] * 1e3:.2f} ms | "
              f"{verdict(cli['median'] <= 5e-3)} |")


if __name__ == "__main__":
    main()
