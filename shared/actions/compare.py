"""Compare runs evaluated on the same images: the settings that differ, each metric with its interval,
a paired test of the difference, and a verdict in one sentence.

    trident compare runs/a runs/b
    trident compare runs/a runs/b runs/c --evaluation weather4-test

Each run must have been evaluated on the same split of the same data (`trident <task> evaluate
--run RUN`); the images are paired by name, and runs scored on different images are refused. The
first run is the baseline each other run is compared with. Writes report.json/.md/.html into
FIRST_RUN/comparisons/<evaluation>-<other runs>/ (or `--output`) and prints the verdicts.
"""

import argparse
import os
import re

from shared.engine.runs import open_run
from shared.errors import fail
from shared.io import read_json
from shared.reports import Report
from shared.stats.bootstrap import LEVEL, RESAMPLES, SEED, describe, span
from shared.stats.paired import compare


def get_args_parser():
    parser = argparse.ArgumentParser(prog="trident compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="RUN", help="two or more run folders; the first is the baseline")
    parser.add_argument("--evaluation", help="the evaluation to compare, a folder name under RUN/evaluation/ "
                        "(default: the one every run has; of several, the one on a test split)")
    parser.add_argument("--output", help="folder for the report (default: FIRST_RUN/comparisons/...)")
    parser.add_argument("--resamples", type=int, default=RESAMPLES, help="bootstrap resamples of the images")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the resamples")
    return parser


def main(argv=None, task_for=None):
    """`task_for(name)`: the `shared.task.Task` of a task's name (the command line's map)."""
    args = get_args_parser().parse_args(argv)
    if len(args.runs) < 2:
        fail("Compare needs at least two runs", "Name two or more run folders", runs=" ".join(args.runs))
    if not 100 <= args.resamples <= 100_000:
        fail("--resamples must be between 100 (a 95% interval needs them) and 100,000 (each takes a row of "
             "draws per image in memory)", "Use the default 1000, or a number in that range",
             resamples=args.resamples)
    runs = [open_run(path) for path in args.runs]
    task = task_for(_task_name(runs))
    evaluation = pick_evaluation(runs, args.evaluation)
    folders = [run.file("evaluation", evaluation) for run in runs]
    _same_data(folders)
    labels = _labels(runs)
    scored = [task.scored(folder) for folder in folders]
    pairs = [compare(scored[0], other, (labels[0], label), args.resamples, args.seed)
             for other, label in zip(scored[1:], labels[1:])]
    report = _report(runs, labels, evaluation, pairs, args.resamples)
    output = args.output or runs[0].file("comparisons", re.sub(r"[^A-Za-z0-9_.-]+", "-",
                                                               f"{evaluation}-{'-'.join(labels[1:])}"))
    paths = report.write(output)
    for pair in pairs:
        print(pair["verdict"])
    print(f"Report: {paths['html']}")
    return 0


def _task_name(runs):
    names = []
    for run in runs:
        manifest = run.file("manifest.json")
        try:
            names.append(read_json(manifest)["task"])
        except (OSError, ValueError, KeyError, TypeError):
            fail(f"Run {run.path} does not say its task (manifest.json missing or damaged)",
                 "Compare runs written by `trident <task> train`", run=run.path)
    if len(set(names)) > 1:
        fail(f"The runs are of different tasks ({', '.join(sorted(set(names)))})", "Compare runs of one task",
             runs=" ".join(run.path for run in runs))
    return names[0]


def pick_evaluation(runs, wanted=None):
    """The evaluation folder name every run has: `wanted`, the only one, or the only one on a test split."""
    found = []
    for run in runs:
        folder = run.file("evaluation")
        names = {n for n in (os.listdir(folder) if os.path.isdir(folder) else ())
                 if os.path.isfile(os.path.join(folder, n, "report.json"))}
        found.append(names)
        if wanted and wanted not in names:
            fail(f"Run {run.path} has no evaluation `{wanted}`" + (f" (it has: {', '.join(sorted(names))})"
                                                                   if names else ""),
                 f"Evaluate it on the same data and split first (`trident <task> evaluate --run {run.path}`)",
                 evaluation=wanted)
    if wanted:
        return wanted
    common = sorted(set.intersection(*found))
    tests = [n for n in common if n.endswith("-test")]
    if len(common) == 1 or len(tests) == 1:
        return common[0] if len(common) == 1 else tests[0]
    if not common:
        fail("The runs share no evaluation of the same data and split",
             "Evaluate each run on the same data (`trident <task> evaluate --run RUN [--data D --split S]`)",
             runs=" ".join(run.path for run in runs))
    fail(f"The runs share several evaluations: {', '.join(common)}", "Choose one with --evaluation NAME",
         evaluation=None)


def _same_data(folders):
    """Refuse evaluations whose recorded split fingerprints differ (same names, other contents)."""
    prints = {}
    for folder in folders:
        try:
            found = read_json(os.path.join(folder, "report.json")).get("data", {}).get("fingerprint")
        except (OSError, ValueError, AttributeError):
            fail(f"The evaluation report {folder}/report.json cannot be read", "Evaluate the run again",
                 evaluation=folder)
        if found:
            prints[folder] = found
    if len(set(map(str, prints.values()))) > 1:
        fail("The runs were evaluated on different images: the splits' recorded fingerprints differ",
             "Evaluate both runs on the same split of the same data, then compare", evaluations=", ".join(prints))


def _labels(runs):
    labels = [os.path.basename(os.path.normpath(run.path)) for run in runs]
    return labels if len(set(labels)) == len(labels) else [os.path.normpath(run.path) for run in runs]


# Where a run was kept and how it printed: not what was trained.
NOT_TRAINING = ("runs_dir", "name", "restart", "verbose", "backup_every")


def differing_settings(runs):
    """`[(setting, [value of each run])]` of the settings whose recorded values differ, then the code that
    trained them (Trident's commit and the libraries' versions, from each manifest) where it differs."""
    configs = [{k: v for k, v in run.config().items() if k not in NOT_TRAINING} for run in runs]
    for config, run in zip(configs, runs):
        try:
            manifest = read_json(run.file("manifest.json"))
        except (OSError, ValueError):
            continue
        config["(trident commit)"] = str(manifest.get("git_commit"))[:12]
        config.update({f"({name})": version for name, version in (manifest.get("versions") or {}).items()})
    keys = sorted(set().union(*configs))
    return [(key, [config.get(key, "-") for config in configs]) for key in keys
            if len({repr(config.get(key)) for config in configs}) > 1]


def _report(runs, labels, evaluation, pairs, resamples):
    report = Report(f"Comparison: {' vs '.join(labels)}", f"evaluation {evaluation}, {pairs[0]['images']} images, "
                    f"each run against {labels[0]}")
    for pair, label in zip(pairs, labels[1:]):
        report.text(f"Verdict: {label} against {labels[0]}", pair["verdict"])
    settings = differing_settings(runs)
    rows = [[key] + [str(v) for v in values] for key, values in settings]
    report.table("Settings that differ", ["setting"] + labels, rows or [["(none)"] + [""] * len(labels)])
    first = pairs[0]["metrics"]
    rows = []
    for metric in first:
        row = [metric, f"{first[metric][labels[0]]:.4f} ({span(first[metric][labels[0] + '_interval'], 3)})"]
        for pair, label in zip(pairs, labels[1:]):
            found = pair["metrics"].get(metric)
            row.append(f"{found[label]:.4f} ({span(found[label + '_interval'], 3)})" if found else "-")
        rows.append(row)
    report.table(f"Metrics with {LEVEL:.0%} intervals", ["metric"] + labels, rows, note=f"{describe(resamples)}.")
    for pair, label in zip(pairs, labels[1:]):
        diff_rows = [[metric, f"{found['difference']:+.4f}",
                      f"{found['interval'][0]:+.4f} to {found['interval'][1]:+.4f}",
                      f"{found[label + '_better_share']:.1%}"] for metric, found in pair["metrics"].items()]
        report.table(f"{label} - {labels[0]}, paired over the same images",
                     ["metric", "difference", f"{LEVEL:.0%} interval", f"resamples where {label} is better"],
                     diff_rows, note=f"Paired percentile bootstrap: each resample draws the same images for both "
                     f"runs; {resamples:,} resamples, seed {pair['bootstrap']['seed']}.")
        test = pair["mcnemar"]
        if test is not None:
            report.text(f"McNemar's exact test: {label} against {labels[0]}",
                        f"Images only {labels[0]} got right: {test['first_only']}; only {label}: "
                        f"{test['second_only']}; two-sided p = {test['p_value']:.4f} (a p below 0.05 says the "
                        f"accuracies differ beyond chance).")
    report.record("comparisons", [{"baseline": labels[0], "other": label, **pair}
                                  for pair, label in zip(pairs, labels[1:])])
    report.record("runs", {label: run.path for label, run in zip(labels, runs)})
    report.record("settings_that_differ", {key: dict(zip(labels, values)) for key, values in settings})
    report.record("evaluation", evaluation)
    return report
