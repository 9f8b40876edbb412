"""Which pyramid levels explain a run best: the report's pointing game for each choice.

    .venv/bin/python -m bench explain_levels --run RUN [--levels P1xP2xP3 P3 P3xP4] [--methods layercam gradcam]

Each choice is a full `evaluate` of the run's test split (its val split where there is none) with
`--explain-levels` and `--explain-method` set, so the figures are those its report would show: the
mean share of heat-map mass inside the true class region or box, the share of heat maps whose peak
falls inside, and the regions' share of the image (what an evenly spread map scores). By default
the choices are the default levels and every run of neighbouring levels (each level alone, pairs,
triples...). The default levels were chosen on built-in data; this tells whether they suit yours.
"""

import argparse
import importlib
import tempfile

from bench import _common

from shared.explain.explainer import default_levels
from shared.io import read_json
from shared.engine.runs import open_run
from shared.task_model import load_checkpoint


def neighbouring_runs(levels):
    """Every run of neighbouring levels: each alone, each pair, ..., all of them."""
    return [tuple(levels[i:i + n]) for n in range(1, len(levels) + 1) for i in range(len(levels) - n + 1)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True)
    parser.add_argument("--levels", nargs="*", help="choices such as P3 or P1xP2xP3 (default: see above)")
    parser.add_argument("--methods", nargs="*", default=["layercam"], choices=("layercam", "gradcam"))
    args = parser.parse_args()
    run = open_run(args.run)
    task = read_json(run.file("manifest.json"))["task"]
    evaluate = importlib.import_module(f"tasks.{task}.task").TASK
    model = load_checkpoint(run.best_or_last())
    default = default_levels(model.backbone.pyramid_levels, model.image_size)
    choices = ([tuple(choice.upper().split("X")) for choice in args.levels] if args.levels
               else [default] + [c for c in neighbouring_runs(model.backbone.pyramid_levels) if c != default])
    rows = []
    for method in args.methods:
        for levels in choices:
            output = tempfile.mkdtemp(prefix="trident-levels-")
            evaluate.evaluate(run, output=output, explain={"level": levels, "method": method})
            game = read_json(f"{output}/report.json")["pointing_game"]
            if game is None:
                raise SystemExit(f"{args.run}: the data marks no objects, so there is no pointing game to compare")
            rows.append(["x".join(levels) + (" (default)" if levels == default else ""), method, game["mass_inside"],
                         game["peak_inside"], game["area"]])
            print(*rows[-1], flush=True)
    _common.table(["levels", "method", "mass inside", "peak inside", "area (uniform map)"], rows)


if __name__ == "__main__":
    main()
