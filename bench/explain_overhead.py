"""What the explanation sections cost: evaluation time of a run with and without them.

    .venv/bin/python -m bench explain_overhead --run RUN [--pairs 7]

Evaluates the run's test split in turns, with the report's explanation sections ("why it
decided", "what the backbone sees", the pointing game) and without them (`evaluate
--no-explain`), each turn loading the checkpoint afresh as `trident <task> evaluate` does.
Each turn starts from a cleared Keras session, as a fresh `evaluate` process would. Prints each
turn's seconds and the median ratio, which machine drift between turns blurs; and, steadier, the
share the report itself records ("timing": the sections' own seconds against the rest of the same
evaluation). Also the pointing game of the last full report. Target (issue): the sections add
at most 20%.
"""

import argparse
import gc
import importlib
import statistics
import tempfile
import time

from bench import _common
import keras

from shared.io import read_json
from shared.engine.runs import open_run


def timed(evaluate, run, output, explain=True):
    keras.backend.clear_session()
    gc.collect()
    start = time.perf_counter()
    evaluate.evaluate(run, output=output, explain=explain)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", required=True)
    parser.add_argument("--pairs", type=int, default=7)
    args = parser.parse_args()
    run = open_run(args.run)
    task = read_json(run.file("manifest.json"))["task"]
    evaluate = importlib.import_module(f"tasks.{task}.task").TASK
    output = tempfile.mkdtemp(prefix="trident-explain-")
    timed(evaluate, run, output)  # warm: imports, file caches
    rows, ratios, shares = [], [], []
    for turn in range(args.pairs):
        seconds = {}
        for kind in (("with", "without") if turn % 2 == 0 else ("without", "with")):
            seconds[kind] = timed(evaluate, run, output if kind == "with" else tempfile.mkdtemp(), kind == "with")
        ratios.append(seconds["with"] / seconds["without"])
        timing = read_json(f"{output}/report.json")["timing"]
        shares.append(timing["explanation_seconds"] / (timing["seconds"] - timing["explanation_seconds"]))
        rows.append([turn + 1, seconds["without"], seconds["with"], ratios[-1], timing["explanation_seconds"],
                     shares[-1]])
    _common.table(["turn", "without (s)", "with (s)", "with / without", "sections (s)", "sections / rest"], rows)
    print(f"{task}: median with / without {statistics.median(ratios):.3f}; the sections' own time against the rest "
          f"of the same evaluation {statistics.median(shares):.3f} (median of {args.pairs} turns)")
    pointing = read_json(f"{output}/report.json").get("pointing_game")
    if pointing:
        print(f"pointing game: mass inside {pointing['mass_inside']:.3f}, peak inside {pointing['peak_inside']:.3f}, "
              f"area {pointing['area']:.3f}")


if __name__ == "__main__":
    main()
