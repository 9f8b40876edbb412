"""Trident's benchmarks: each prints figures (none is a test). Run one from the repository root:

    .venv/bin/python -m bench NAME [flags]       # e.g. python -m bench real_data --only weather4
    .venv/bin/python -m bench                    # the list

real_data          the default command on the six real sets against a plain Keras user's reference
digits_accuracy    test accuracy and training time of the default digits run, three seeds
shapes             built-in shapes, detection or segmentation (--task): test metrics within a 10-minute budget
throughput         Trident's training images/s against bare Keras fit, same network
input_pipeline     first epoch (decode, resize, augment) against training speed; memory
frozen_speed       training-step speed per freeze level of a pretrained backbone
distributed        one process against two multi-worker processes on loopback; all-reduce time
explain_overhead   what the report's explanation sections add to evaluate (--run RUN)
explain_levels     the pointing game of each choice of levels to explain at (--run RUN)
export_conversion  each export format converted and checked, with its time (--run RUN)
imagenet_check     the converted ImageNet weights classifying photos as an ImageNet model does
calibration        fit a finished run's calibration on its val split, score the test split (--run RUN)
label_noise        labels flipped on purpose in the real classification sets: what `review` finds
label_loop         a simulated labelling loop: images chosen by `suggest` against random ones, learning curves
yolo26_side_by_side  detection latency against Ultralytics' YOLO26n (--run RUN --export E --yolo-python PY)
"""
