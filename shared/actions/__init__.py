"""The six actions every task shares (inspect, train, evaluate, predict, export, benchmark).

Each module's `main(task, argv)` runs its action for a `shared.task.Task`; `tasks/cli.py`
picks the task and the action.
"""
