#!/usr/bin/python3
"""Draws the medians of one bench/serve_bench.sh run as a PNG.

    /usr/bin/python3 bench/plot_serve.py bench/results/serve-STAMP.json OUT.png [OUT2.png ...]

Three panels, one group of bars per scenario, agentdl-serve beside nginx:
requests/s, p99 latency, and the server's CPU time per request (the figure
that decides when wrk saturates its core). Bars are the medians, dots the
single runs. Targets and verdicts are written under the scenario names.

Needs matplotlib: Debian's python3-matplotlib (scripts/deps.sh installs it),
which is importable from the system Python, /usr/bin/python3, hence the
shebang; a pyenv or venv python3 first on PATH may not have it.
serve_bench.sh runs this script with the first of /usr/bin/python3 and
python3 that imports matplotlib.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")  # no display
import matplotlib.pyplot as plt  # noqa: E402


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        summary = json.load(f)
    scenarios = summary["scenarios"]
    meta = summary.get("meta", {})
    if not scenarios:
        print("plot_serve: no scenario in " + sys.argv[1], file=sys.stderr)
        return 1

    names = []
    for s in scenarios:
        verdicts = ", ".join(("met" if t["met"] else "MISSED") for t in s["targets"])
        names.append(f"{s['name']}\n{s['connections']} conns\n{verdicts}")
    panels = [
        ("requests/s", "rps", "rps"),
        ("p99 latency (µs)", "p99_us", "p99"),
        ("server CPU per request (µs)", "cpu_us_per_request", "cpu_per_request"),
    ]
    servers = [("agentdl", "agentdl-serve", "#1f77b4"), ("nginx", "nginx", "#7f7f7f")]
    width = 0.38

    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 5.2))
    for ax, (title, field, ratio_key) in zip(axes, panels):
        for k, (key, label, color) in enumerate(servers):
            xs = [i + (k - 0.5) * width for i in range(len(scenarios))]
            medians = [s[key][field] for s in scenarios]
            ax.bar(xs, medians, width, label=label, color=color)
            for x, s in zip(xs, scenarios):
                runs = s[key].get("runs", {}).get(field, [])
                ax.plot([x] * len(runs), runs, "k.", markersize=4)
        top = max(max(s[key][field] for key, _, _ in servers) for s in scenarios)
        for i, s in enumerate(scenarios):
            ratio = s["ratios"][ratio_key]
            ax.annotate(f"{ratio:.2f}x", (i, top * 1.04), ha="center", fontsize=9)
        ax.set_ylim(0, top * 1.15)
        ax.set_title(title + " (ratio agentdl/nginx above)", fontsize=10)
        ax.set_xticks(range(len(scenarios)))
        ax.set_xticklabels(names, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle(
        f"agentdl-serve vs nginx return 302, {meta.get('date', '')}, {meta.get('cores', '?')} cores; "
        f"medians of {meta.get('pairs', '?')} pairs x {meta.get('duration_s', '?')} s; "
        "one worker on core 0, wrk -t1 on core 1",
        fontsize=10,
    )
    fig.tight_layout()
    for out in sys.argv[2:]:
        fig.savefig(out, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
