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


def test_review_and_suggest_name_the_tasks_they_do_not_cover_yet(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("data: shapes\n")
    assert main(["instance", "suggest", "--run", str(run), "--data", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "`trident instance suggest` does not exist yet" in err and "Traceback" not in err
