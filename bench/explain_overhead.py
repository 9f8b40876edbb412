"""What the explanation sections cost: evaluation time of a run with and without them.

    .venv/bin/python bench/explain_overhead.py --run RUN [--pairs 3]

Evaluates the run's test split in turns, with the report's explanation sections ("why it
decided", "what the backbone sees", the pointing game) and without them (`evaluate
--no-explain`), each turn loading the checkpoint afresh as `trident <task> evaluate` does.
Prints each turn's seconds and the median ratio; also the pointing game of the last full
report. Target (issue): the sections add at most 20%.
"""

import argparse
import importlib
import statistics
import tempfile
import time

import _common

from shared.io import read_json
from shared.runs import open_run


def timed(evaluate, run, output, explain=True):
    start = time.perf_counter()
    evaluate.evaluate_run(run, output=output, explain=explain)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", required=True)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    run = open_run(args.run)
    task = read_json(run.file("manifest.json"))["task"]
    evaluate = importlib.import_module(f"tasks.{task}.evaluate")
    output = tempfile.mkdtemp(prefix="trident-explain-")
    timed(evaluate, run, output)  # warm: imports, file caches
    rows, ratios = [], []
    for turn in range(args.pairs):
        seconds = {}
        for kind in (("with", "without") if turn % 2 == 0 else ("without", "with")):
            seconds[kind] = timed(evaluate, run, output if kind == "with" else tempfile.mkdtemp(), kind == "with")
        ratios.append(seconds["with"] / seconds["without"])
        rows.append([turn + 1, seconds["without"], seconds["with"], ratios[-1]])
    _common.table(["turn", "without (s)", "with (s)", "with / without"], rows)
    print(f"{task}: median with / without {statistics.median(ratios):.3f} over {args.pairs} turns")
    pointing = read_json(f"{output}/report.json").get("pointing_game")
    if pointing:
        print(f"pointing game: mass inside {pointing['mass_inside']:.3f}, peak inside {pointing['peak_inside']:.3f}, "
              f"area {pointing['area']:.3f}")


if __name__ == "__main__":
    main()
