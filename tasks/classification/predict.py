"""Print the top-k classes of images, from a run folder or an exported SavedModel.

    trident classification predict --model runs/classification-digits-compact a.png b.jpg
    trident classification predict --model saved_models/classification-digits-compact photos/ --top-k 3
    trident classification predict --model RUN photos/ --json predictions.json
"""

import argparse

import numpy as np

from shared.config import positive_int
from shared.errors import fail
from shared.io import write_json
from shared.predict_inputs import expand_images, for_each_image, model_kind, report_failures


def get_args_parser():
    parser = argparse.ArgumentParser("trident classification predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="run folder or SavedModel folder")
    parser.add_argument("images", nargs="+", help="image files or folders")
    parser.add_argument("--top-k", type=positive_int, default=5)
    parser.add_argument("--json", help="also write the predictions to this JSON file")
    return parser


def load_predictor(path):
    """`(predict(image uint8 [H, W, 3]) -> probabilities [C], class_names)` for either kind of model."""
    if model_kind(path) == "run":
        from shared.data.preprocess import resize_images
        from shared.runs import open_run
        from shared.training import load_checkpoint
        from tasks.classification import model as _model  # noqa: F401

        model = load_checkpoint(open_run(path).best_or_last())
        return (lambda image: np.asarray(model.predict_on_batch(resize_images(image[None], model.image_size)))[0],
                model.class_names)
    import tensorflow as tf

    from shared.export import read_export_manifest, resolve_saved_model

    folder = resolve_saved_model(path)
    loaded = tf.saved_model.load(folder)
    names = read_export_manifest(folder).get("class_names")

    def predict(image):
        return loaded.signatures["serving_default"](images=tf.constant(image[None]))["probabilities"].numpy()[0]

    if names is None:
        fail(f"SavedModel {folder} has no assets.extra/trident.json", "Export it with `trident classification export`",
             model=path)
    return predict, names


def main(argv=None):
    args = get_args_parser().parse_args(argv)
    paths = expand_images(args.images)
    predict, names = load_predictor(args.model)

    def handle(path, image):
        probabilities = predict(image)
        top = np.argsort(-probabilities)[: args.top_k]
        ranked = [{"class": names[i], "probability": float(probabilities[i])} for i in top]
        print(f"{path}: " + ", ".join(f"{r['class']} {r['probability']:.3f}" for r in ranked))
        return {"image": path, "top": ranked}

    results, failed = for_each_image(paths, handle)
    if args.json:
        write_json(args.json, results)
    report_failures(failed, len(paths))
    return results


if __name__ == "__main__":
    main()
