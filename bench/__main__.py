"""`python -m bench NAME [flags]`: run one benchmark (see `bench/__init__.py` for the list)."""

import importlib
import os
import sys

import bench

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = sorted(name[:-3] for name in os.listdir(HERE)
               if name.endswith(".py") and not name.startswith("_") and name not in ("real_data_reference.py",
                                                                                      "keras_cv_models.py"))


def main(argv):
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in NAMES:
        print(bench.__doc__)
        if argv and argv[0] not in ("-h", "--help"):
            print(f"unknown benchmark {argv[0]!r}; choose one of: {', '.join(NAMES)}", file=sys.stderr)
            return 2
        return 0
    module = importlib.import_module(f"bench.{argv[0]}")
    sys.argv = [f"python -m bench {argv[0]}", *argv[1:]]
    result = module.main()
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
