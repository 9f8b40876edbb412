"""Inspect classification data: counts, sizes, broken files, duplicates, leakage.

    trident classification inspect --data photos/
    trident classification inspect --data list.csv --output reports/photos

Reads the data exactly as `train` would (same splits for the same seed and fractions) and
writes report.{json,md,html}. Exits with status 1 when it finds problems (undecodable
files, images shared between splits, identical images with different labels, paths
outside the data folder), 0 otherwise.
"""

from shared.config import inspect_args_parser
from shared.data.classification import load_classification_data
from shared.inspect_flow import inspect_data, print_findings


def get_args_parser():
    return inspect_args_parser("trident classification inspect", __doc__)


def main(argv=None):
    args = get_args_parser().parse_args(argv)
    paths, findings = inspect_data(
        "classification", args.data,
        lambda spec: load_classification_data(spec, args.seed, args.val_fraction, args.test_fraction),
        lambda part, i: [int(part.labels[i])], output=args.output)
    return print_findings(paths, findings)


if __name__ == "__main__":
    main()
