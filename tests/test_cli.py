import subprocess
import sys

from tasks.cli import main


def test_help_and_unknown_command(capsys):
    assert main([]) == 0
    assert "classification" in capsys.readouterr().out
    assert main(["classification", "dance"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_cli_module_imports_no_task_or_tensorflow():
    code = "import sys, tasks.cli; print('tensorflow' in sys.modules, 'tasks.classification.task' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
