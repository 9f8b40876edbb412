"""Defaults that follow from the data: image size, batch size, augmentation, epochs.

`choose_defaults` fills every setting the user left open (no flag, no YAML key) from what
the data looks like, and returns the reason for each choice; the run's `config.yaml`
holds the chosen values and its report shows the reasons. A user's flag always wins.
Built-in data sets keep their task's tuned defaults for the image size.
"""

import math

from shared.data.profile import size_profile

# Per task: smallest and largest automatic image size, and which side of the image sets it
# (classification and segmentation resize to a square; detection letterboxes the long side).
SIZE_RULES = {
    "classification": (32, 128, "short_side"),
    "detection": (128, 320, "long_side"),
    "segmentation": (64, 256, "short_side"),
}
# With a time budget and no --epochs, the budget ends training and the learning-rate
# schedule follows the clock; this only bounds the epoch count.
BUDGET_EPOCHS = 1000
# Fewer optimizer steps than this per epoch make batch norm and the schedule coarse on small data.
MIN_STEPS_PER_EPOCH = 8


def image_size_for(task, profile):
    """`(size, reason)`: the data's own resolution, rounded to a multiple of 32 and bounded."""
    low, high, side = SIZE_RULES[task]
    if not profile.get("images"):
        return high, "no image could be measured; the task's usual size"
    native = profile[side]
    size = int(min(high, max(low, 32 * math.floor(native / 32 + 0.5))))
    where = "short side" if side == "short_side" else "long side"
    if size == high and native > high:
        why = f"images are larger (median {where} {native:.0f} px); {high} px keeps training fast on a CPU"
    elif size == low and native < low:
        why = f"images are small (median {where} {native:.0f} px), upsampled to the smallest size the model takes"
    else:
        why = f"the data's own resolution (median {where} {native:.0f} px), rounded to a multiple of 32"
    return size, why


def batch_size_for(default, train_count):
    """`(batch, reason)`: the task's default, halved until an epoch has enough steps."""
    batch = default
    while batch > 4 and train_count / batch < MIN_STEPS_PER_EPOCH:
        batch //= 2
    if batch == default:
        return batch, f"the task's default ({train_count} training images give {math.ceil(train_count / batch)} steps)"
    return batch, (f"{train_count} training images: batch {batch} gives {math.ceil(train_count / batch)} steps "
                   f"per epoch (at least {MIN_STEPS_PER_EPOCH} wanted)")


def choose_defaults(task, config, explicit, splits, builtin, flip=None):
    """Fill the settings the user left open; return `{key: reason}` for each one chosen.

    Args:
        task: str, the task name.
        config: dict, the merged configuration, updated in place.
        explicit: set of str, keys the user gave (flags or YAML).
        splits: dict of split name -> data set.
        builtin: bool, the data is a built-in set with tuned defaults.
        flip: callable `() -> dict` measuring whether mirroring keeps labels (see
            `shared.data.flip_probe`), or None when flips are always safe for the task.
    """
    reasons = {}
    profile = size_profile(splits["train"], seed=config["seed"])
    train_count = len(splits["train"])
    if "image_size" not in explicit and not builtin:
        config["image_size"], reasons["image_size"] = image_size_for(task, profile)
    if "batch_size" not in explicit:
        config["batch_size"], reasons["batch_size"] = batch_size_for(config["batch_size"], train_count)
    if "epochs" not in explicit and config.get("time_budget"):
        config["epochs"] = BUDGET_EPOCHS
        reasons["epochs"] = ("the time budget ends training; the learning rate decays with the clock so the run "
                             "ends on a low rate whatever its speed")
    if config["augment"] == "auto":
        config["augment"], reasons["augment"] = augment_for(task, profile, flip)
    if str(config.get("channels", "auto")) == "auto":
        config["channels"], reasons["channels"] = channels_for(profile, config.get("backbone_weights"))
    config["channels"] = int(config["channels"])
    return reasons, profile


def channels_of(config):
    """The backbone's input channels in `config` (3 while `--channels auto` is still unsettled)."""
    value = str(config.get("channels", "auto"))
    return 3 if value == "auto" else int(value)


def channels_for(profile, weights):
    """`(channels, reason)` for `--channels auto`: one for grayscale data, unless given weights
    were trained on three."""
    if weights:
        return 3, "the backbone's given weights take three channels"
    if profile.get("gray_fraction", 0.0) >= 1.0:
        return 1, "every sampled image is grayscale: the first layer learns one channel's filters"
    return 3, "colour images" if profile.get("gray_fraction", 0.0) == 0 else "some images are in colour"


def augment_for(task, profile, flip):
    """`(comma list, reason)` for `--augment auto`."""
    names, why = ["crop"], []
    if flip is None:
        names.insert(0, "flip")
        why.append("flip: mirroring keeps every class" if task != "segmentation"
                   else "flip: mirroring keeps region classes")
    else:
        measured = flip()
        if measured.get("safe"):
            names.insert(0, "flip")
            if "why" in measured:
                why.append(f"flip: {measured['why']}")
            else:
                why.append(f"flip: a linear probe keeps {measured['retained']:.0%} of its skill on mirrored images")
        elif measured.get("safe") is False:
            why.append(f"no flip: a linear probe keeps only {max(0.0, measured['retained']):.0%} of its skill on "
                       "mirrored images, so mirroring changes classes")
        else:
            why.append(f"no flip: whether mirroring keeps classes could not be measured ({measured['reason']})")
    if profile.get("gray_fraction", 0.0) >= 0.5:
        why.append("no colour jitter: the images are grayscale")
    else:
        names.append("color")
        why.append("colour jitter: colour images")
    return ",".join(names), "; ".join(why)
