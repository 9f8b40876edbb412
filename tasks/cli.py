"""The `trident` command: `trident <task> <action> [flags]`.

    trident classification inspect --data photos/
    trident classification train --data digits --epochs 10
    trident classification evaluate --run runs/classification-digits-compact
    trident classification predict --model saved_models/classification-digits-compact img.png
    trident classification export --run runs/classification-digits-compact
    trident classification benchmark --run runs/classification-digits-compact
    trident classification review --run runs/classification-digits-compact
    trident classification suggest --run runs/classification-digits-compact --data unlabelled/ --count 50
    trident detection train --data shapes
    trident segmentation train --data shapes
    trident instance train --data shapes
    trident compare runs/a runs/b

`python -m tasks.cli <task> <action>` works the same. Each task is one folder whose
`task.py` defines its `TASK` (a `shared.task.Task`); each action is one module of
`shared.actions` whose `main(task, argv)` runs it for any task. This file only maps names
to modules and imports the ones asked for: adding a task is one line here.
"""

import importlib
import sys

TASKS = {
    "classification": "tasks.classification.task",
    "detection": "tasks.detection.task",
    "segmentation": "tasks.segmentation.task",
    "instance": "tasks.instance.task",
}
ACTIONS = ("inspect", "train", "evaluate", "predict", "export", "benchmark", "review", "suggest")


def usage():
    return (f"usage: trident <task> <action> [flags]\n  tasks: {', '.join(TASKS)}\n"
            f"  actions: {', '.join(ACTIONS)}\n  help: trident <task> <action> --help\n"
            f"       trident compare RUN_A RUN_B [...]  (runs evaluated on the same images)")


def task_for(name):
    """The `Task` of a task's name."""
    return importlib.import_module(TASKS[name]).TASK


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0] == "compare":
        from shared.actions import compare

        return _run("trident compare", lambda: compare.main(argv[1:], task_for), training=False)
    if len(argv) < 2 or argv[0] not in TASKS or argv[1] not in ACTIONS:
        print(f"trident: unknown command `{' '.join(argv[:2])}`.\n{usage()}", file=sys.stderr)
        return 2
    task = task_for(argv[0])
    action = importlib.import_module(f"shared.actions.{argv[1]}")
    return _run(f"trident {argv[0]} {argv[1]}", lambda: action.main(task, argv[2:]), training=argv[1] == "train")


def _run(command, call, training):
    """`call()`'s exit status; the project's errors, an interrupt and known system failures as one line."""
    from shared.errors import TridentError, system_failure

    try:
        status = call()
    except TridentError as error:
        print(f"{command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Checkpoints and reports are written whole or not at all, so nothing is half-written;
        # a training run keeps its last finished epoch and resumes from it.
        again = "run the same command again to resume from the last finished epoch" if training else \
            "nothing was left half-written"
        print(f"\n{command}: interrupted; {again}", file=sys.stderr)
        return 130
    except Exception as error:
        message = system_failure(error)
        if message is None:
            raise
        print(f"{command}: error: {message}", file=sys.stderr)
        return 1
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
