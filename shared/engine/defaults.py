"""Defaults that follow from the data: backbone and its weights, image size, batch size, augmentation, epochs.

`choose_defaults` fills every setting the user left open (no flag, no YAML key) from what
the data looks like, and returns the reason for each choice; the run's `config.yaml`
holds the chosen values and its report shows the reasons. A user's flag always wins.
Built-in data sets keep their task's tuned defaults for the image size.
"""

import math

from shared.backbones import PACKAGED_IMAGENET, build_backbone
from shared.data.profile import size_profile

# `--backbone auto` on photographs: ImageNet-pretrained, installed with Trident, int8-friendly.
PRETRAINED_BACKBONE = "efficientnet_lite0"
# Below this median short side a small network from scratch is the default (ImageNet's features
# are learned on objects tens of pixels across; tiny images such as 8x8 digits have none). So it is
# for grayscale data: on ISBI's electron-microscope slices fine-tuned EfficientNet-Lite0 reached test
# mean IoU 0.708 in 10 minutes against 0.766 for compact from scratch on one channel.
SMALL_IMAGE = 32
# What of a pretrained backbone stays as it came: (batch-norm mode, layers frozen up to this level).
# A task whose head reads P3 and deeper keeps ImageNet's batch-norm statistics and the filters of the
# stem and stages to P2; besides keeping what the weights learned, no gradient through the largest
# maps trains faster (2-core CPU, EfficientNet-Lite0, one training step at batch 16 and 320 px: 17.1
# images/s against 9.4 with every layer learning; classification at 192 px about 1.35 times faster).
# Measured, default command, test split: raccoon AP50 0.882 -> 0.961, bccd 0.736 -> 0.815, weather4
# 0.947 -> 0.960. A task that measures otherwise says so in its `Task.pretrained_frozen`.
PRETRAINED_FROZEN = ("frozen", "P2")
# Peak learning rate of a pretrained network (the random-start default, 2e-3, unlearns ImageNet's features).
PRETRAINED_LR = 1e-3
# After the head-first phase, how well the head alone on the frozen ImageNet features answers the val images
# says how well those features suit the data: at HEAD_FITS or more (a small set close to ImageNet's
# photographs) the whole network fine-tunes at GENTLE_FINE_TUNE of the peak rate and keeps them; at
# HEAD_ADAPTS or less the features must adapt and it trains at the full rate; in between the rate falls
# geometrically, so a val split a few images better or worse moves it a little, not from one end to the other.
# Measured (test accuracy, 3 seeds): weather4, head 0.90-0.97 on val, 0.956 at the full rate, 0.969 at a
# tenth, 0.987 at a hundredth (reference 0.996); sign_digits (hand signs on plain backgrounds), head 0.79 on
# val, 0.993 at the full rate, 0.983 at a tenth.
HEAD_FITS, HEAD_ADAPTS = 0.9, 0.8
GENTLE_FINE_TUNE = 0.01
# With a time budget and no --epochs, the budget ends training and the learning-rate
# schedule follows the clock; this only bounds the epoch count.
BUDGET_EPOCHS = 1000
# Fewer optimizer steps than this per epoch make batch norm and the schedule coarse on small data.
MIN_STEPS_PER_EPOCH = 8
# The longest warm-up `warmup_for` chooses, in epochs.
MAX_WARMUP_EPOCHS = 5.0


def image_size_for(rules, profile, pretrained=False):
    """`(size, reason)`: the data's own resolution, rounded to a multiple of 32 and bounded.

    Args:
        rules: the task (`shared.task.Task`), whose `size_rules` (from scratch) and
            `pretrained_size_rules` are `(smallest, largest, "short_side" or "long_side")`.
    """
    low, high, side = rules.pretrained_size_rules if pretrained else rules.size_rules
    if not profile.get("images"):
        return high, "no image could be measured; the task's usual size"
    native = profile[side]
    size = int(min(high, max(low, 32 * math.floor(native / 32 + 0.5))))
    where = "short side" if side == "short_side" else "long side"
    if size == high and native > high:
        why = f"images are larger (median {where} {native:.0f} px); {high} px keeps training fast on a CPU"
    elif size == low and native < low:
        why = (f"images are small (median {where} {native:.0f} px), upsampled to the smallest size "
               + ("ImageNet features suit" if pretrained else "the model takes"))
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


def choose_defaults(task, config, explicit, splits, builtin):
    """Fill the settings the user left open; return `{key: reason}` for each one chosen.

    Args:
        task: the `shared.task.Task` (its size rules, flip probe, pretrained freezing).
        config: dict, the merged configuration, updated in place.
        explicit: set of str, keys the user gave (flags or YAML).
        splits: dict of split name -> data set.
        builtin: bool, the data is a built-in set with tuned defaults.
    """
    reasons = {}
    pretrained_frozen = task.pretrained_frozen
    profile = size_profile(splits["train"], seed=config["seed"])
    train_count = len(splits["train"])
    if config.get("backbone", "auto") == "auto":
        config["backbone"], reasons["backbone"] = backbone_for(profile, builtin)
    if config.get("backbone_weights", "auto") == "auto":
        config["backbone_weights"], reasons["backbone_weights"] = weights_for(config["backbone"])
    pretrained = config["backbone_weights"] not in (None, "none")
    if config.get("batch_norm", "auto") == "auto":
        config["batch_norm"], reasons["batch_norm"] = batch_norm_for(pretrained, pretrained_frozen[0])
    if config.get("freeze", "auto") == "auto":
        config["freeze"], reasons["freeze"] = freeze_for(pretrained, pretrained_frozen[1])
    if pretrained and "lr" not in explicit:
        config["lr"] = PRETRAINED_LR
        reasons["lr"] = "fine-tuning pretrained weights: a lower peak rate keeps what they learned"
    if "image_size" not in explicit and not builtin:
        config["image_size"], reasons["image_size"] = image_size_for(task, profile, pretrained)
    if "batch_size" not in explicit:
        config["batch_size"], reasons["batch_size"] = batch_size_for(config["batch_size"], train_count)
    if pretrained and task.min_warmup_steps and "warmup_epochs" not in explicit:
        config["warmup_epochs"], reasons["warmup_epochs"] = warmup_for(
            task.min_warmup_steps, math.ceil(train_count / config["batch_size"]), config.get("warmup_epochs", 1.0))
    if config.get("head_epochs", "auto") == "auto":
        fixed = "epochs" in explicit or not config.get("time_budget")  # else the clock ends training
        config["head_epochs"], reasons["head_epochs"] = head_epochs_for(
            task.head_first_steps if pretrained else 0, math.ceil(train_count / config["batch_size"]),
            config.get("epochs") if fixed else None)
    if "epochs" not in explicit and config.get("time_budget"):
        config["epochs"] = BUDGET_EPOCHS
        reasons["epochs"] = ("the time budget ends training; the learning rate decays with the clock so the run "
                             "ends on a low rate whatever its speed")
    if config["augment"] == "auto":
        config["augment"], reasons["augment"] = augment_for(task, profile, splits, config["seed"])
    if str(config.get("channels", "auto")) == "auto":
        config["channels"], reasons["channels"] = channels_for(profile, config.get("backbone_weights"))
    config["channels"] = int(config["channels"])
    return reasons, profile


def warmup_for(min_steps, steps, default=1.0):
    """`(epochs, reason)`: the learning rate's warm-up in epochs, at least `min_steps` optimizer steps of
    `steps` per epoch (and at least `default` epochs), rounded up to a tenth of an epoch; at most
    `MAX_WARMUP_EPOCHS` (a handful of images would otherwise warm up for dozens of epochs)."""
    epochs = max(float(default), min(MAX_WARMUP_EPOCHS, math.ceil(10 * min_steps / max(1, steps)) / 10))
    if epochs == default:
        return epochs, f"the default: {steps} steps per epoch are at least {min_steps} warm-up steps"
    return epochs, (f"{steps} steps per epoch: the learning rate rises over {min_steps} steps ({epochs:g} epochs) so "
                    "the new head's first large gradients do not unlearn the pretrained features")


def head_epochs_for(min_steps, steps, total=None):
    """`(epochs, reason)` for `--head-epochs auto`: enough epochs of `steps` optimizer steps for `min_steps`
    with the backbone frozen whole (at least 1, at most `MAX_WARMUP_EPOCHS`), or 0 when `min_steps` is 0.
    With a fixed number of epochs (`total`, no time budget to end training) at most half of them, so that
    the whole network fine-tunes for the other half rather than never."""
    if not min_steps:
        return 0, "the backbone learns from the first step (no pretrained weights, or the task trains all at once)"
    epochs = int(min(MAX_WARMUP_EPOCHS, max(1, math.ceil(min_steps / max(1, steps)))))
    if total is not None and epochs > total // 2:
        if total < 2:
            return 0, (f"--epochs {total}: too few for a head-first phase, so the whole network trains from the first "
                       "step")
        epochs = total // 2
        return epochs, (f"pretrained weights: the new head first learns alone on the frozen backbone for {epochs} "
                        f"epoch(s), half of --epochs {total}, so that everything fine-tunes for the other half")
    return epochs, (f"pretrained weights: the new head first learns alone on the frozen backbone for {epochs} "
                    f"epoch(s) ({epochs * steps} steps), so its first large, random gradients never reach the ImageNet "
                    "features; then everything fine-tunes")


def fine_tune_lr_for(lr, logs):
    """`(rate, reason)` for `--fine-tune-lr auto`: the whole network's peak rate after the head-first phase,
    judged by how well the head alone answered the val split at that phase's last epoch (`logs`)."""
    accuracy = logs.get("val_accuracy")
    if accuracy is None:
        return lr, "no val split to judge the head-first phase by: the whole network fine-tunes at --lr"
    said = f"the head alone on the frozen pretrained features answered {accuracy:.1%} of the val images"
    if accuracy <= HEAD_ADAPTS:
        return lr, f"{said}: the features must adapt to the data, so the whole network fine-tunes at --lr"
    share = min(1.0, (accuracy - HEAD_ADAPTS) / (HEAD_FITS - HEAD_ADAPTS))
    factor = float(f"{GENTLE_FINE_TUNE ** share:.2g}")
    return lr * factor, (f"{said}: the features {'suit' if share == 1.0 else 'mostly suit'} the data, so the whole "
                         f"network fine-tunes gently (--lr x {factor:g}) and keeps them")


def backbone_for(profile, builtin):
    """`(name, reason)` for `--backbone auto`."""
    if builtin:
        return "compact", "built-in data: the small network its settings were tuned with"
    short = profile.get("short_side") if profile.get("images") else None
    if short is not None and short < SMALL_IMAGE:
        return "compact", (f"small images (median short side {short:.0f} px): a small network trained from scratch "
                           "suits them better than ImageNet features")
    if profile.get("gray_fraction", 0.0) >= 1.0:
        return "compact", ("grayscale images (electron or X-ray scans, not ImageNet's colour photographs): a small "
                           "network trained from scratch on one channel measures better on them")
    return PRETRAINED_BACKBONE, ("photographs: an ImageNet-pretrained network fine-tuned on them learns far more "
                                 "from a few hundred images than one trained from scratch")


def weights_for(backbone):
    """`(weights, reason)` for `--backbone-weights auto`: ImageNet where it is installed with Trident,
    else None (random weights; runs from before this setting existed record None too)."""
    if backbone in PACKAGED_IMAGENET:
        return "imagenet", f"{backbone}'s ImageNet weights are installed with Trident"
    return None, f"{backbone} has no ImageNet weights installed with Trident: it trains from scratch"


def batch_norm_for(pretrained, mode=PRETRAINED_FROZEN[0]):
    """`(mode, reason)` for `--batch-norm auto`; `mode` is the task's choice for pretrained weights."""
    if not pretrained:
        return "train", "random weights: batch norm learns the data's statistics"
    if mode == "frozen":
        return "frozen", ("pretrained weights: their batch-norm statistics, gathered over a million images, "
                          "stay as they are rather than follow batches of a few dozen")
    return mode, "pretrained weights, but this task measured better with batch norm following its data's statistics"


def freeze_for(pretrained, level=PRETRAINED_FROZEN[1]):
    """`(level or "none", reason)` for `--freeze auto`; `level` is the task's choice for pretrained weights."""
    if not pretrained:
        return "none", "random weights: every layer learns"
    if level != "none":
        return level, (f"pretrained weights: the layers up to {level} (edges, colours, textures) keep their "
                       "ImageNet filters; no gradient through the largest maps trains faster")
    return "none", "pretrained weights, but this task measured better with every layer learning"


def configured_backbone(config, **kwargs):
    """The backbone `config` describes (name, weights, channels, what is frozen), plus `kwargs`.

    Runs from before `--batch-norm` and `--freeze` existed record neither, and a config whose
    `auto` values were never settled (`choose_defaults`) names no level: nothing is frozen."""
    frozen_to = config.get("freeze")
    return build_backbone(config["backbone"], weights=config["backbone_weights"], input_channels=channels_of(config),
                          frozen_bn=config.get("batch_norm") == "frozen",
                          frozen_to=None if frozen_to in (None, "none", "auto") else frozen_to, **kwargs)


def channels_of(config):
    """The backbone's input channels in `config` (3 while `--channels auto` is still unsettled)."""
    value = str(config.get("channels", "auto"))
    return 3 if value == "auto" else int(value)


def channels_for(profile, weights):
    """`(channels, reason)` for `--channels auto`: one for grayscale data, unless given weights
    were trained on three."""
    if weights not in (None, "none"):
        return 3, "the backbone's given weights take three channels"
    if profile.get("gray_fraction", 0.0) >= 1.0:
        return 1, "every sampled image is grayscale: the first layer learns one channel's filters"
    return 3, "colour images" if profile.get("gray_fraction", 0.0) == 0 else "some images are in colour"


def augment_for(task, profile, splits, seed):
    """`(comma list, reason)` for `--augment auto`; `task.flip_probe` measures whether mirroring
    keeps labels (see `shared.data.flip_probe`), or is None where flips are always safe."""
    names, why = ["crop"], []
    measured = task.flip_probe(splits, seed)
    if measured is None:
        names.insert(0, "flip")
        why.append(f"flip: {task.flip_reason}")
    else:
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
