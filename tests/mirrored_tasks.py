"""Train (with its closing evaluation) and export every task with `--strategy mirrored` over two logical CPU
devices (a separate process: the CPU is split before TensorFlow starts its devices).

    python -m tests.mirrored_tasks FOLDER [TASK ...]
"""

import sys


def main(folder, *tasks):
    from shared.engine.distribute import split_cpu

    split_cpu(2)
    from tasks.cli import main as trident
    from tests.factories import tiny_train_args, write_class_folders, write_detection_data, write_segmentation_data

    data = {"classification": write_class_folders(f"{folder}/cls", per_class=4),
            "detection": write_detection_data(f"{folder}/det", "coco", count=8, size=64),
            "segmentation": write_segmentation_data(f"{folder}/seg", count=10, size=48)}
    data["pretrained"] = data["classification"]
    # 10 images: a validation batch of one would leave a replica an empty share, which TensorFlow's
    # convolution rejected in lenet5's C3 (training drops such batches; validation cannot).
    # "pretrained": classification fine-tuning ImageNet EfficientNet-Lite0, frozen batch norm and stem.
    extra = {"detection": ["--image-size", "64", "--width", "16"], "segmentation": ["--image-size", "32"],
             "pretrained": ["--image-size", "32", "--backbone", "efficientnet_lite0", "--backbone-weights",
                            "imagenet"]}
    for name, path in data.items():
        if tasks and name not in tasks:
            continue
        task = "classification" if name == "pretrained" else name
        runs = f"{folder}/runs"
        args = tiny_train_args(path, runs, "--name", name, "--strategy", "mirrored", *extra.get(name, []))
        # `train` evaluates its validation split at the end (the code `evaluate` runs).
        for command in (["train", *args], ["export", "--run", f"{runs}/{name}", "--output-dir", f"{folder}/exports"]):
            code = trident([task, *command])
            print(f"{name} {command[0]}: exit {code}", flush=True)
            if code != 0:
                return code
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
