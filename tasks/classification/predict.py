"""Print the top-k classes of images, from a run folder or an exported SavedModel.

    trident classification predict --model runs/classification-digits-compact a.png b.jpg
    trident classification predict --model saved_models/classification-digits-compact photos/ --top-k 3
    trident classification predict --model RUN photos/ --json predictions.json
    trident classification predict --model RUN photos/ --explain why/

With `--explain FOLDER` (run folders only), FOLDER/<stem>_why_<class>.png shows where the
image made the model choose its top class (a LayerCAM heat map, `shared.explain.explainer`).
"""

import numpy as np

from shared.config import positive_int
from shared.explain.explainer import class_score


def add_arguments(parser):
    parser.add_argument("--top-k", type=positive_int, default=5)
    parser.add_argument("--json", help="also write the predictions to this JSON file")
    parser.add_argument("--explain", metavar="FOLDER", help="write heat maps of why the top class won (run folders)")


def predictions(options, predictor, explainer):
    """`predict`'s handler: print and return the top classes of an image (see `shared.task.Task.predictions`)."""
    names = predictor.class_names

    def handle(path, image):
        probabilities = predictor.answer(image[None])["probabilities"][0]
        top = np.argsort(-probabilities)[: options["top_k"]]
        ranked = [{"class": names[i], "probability": float(probabilities[i])} for i in top]
        print(f"{path}: " + ", ".join(f"{r['class']} {r['probability']:.3f}" for r in ranked))
        answer = {"image": path, "top": ranked}
        if explainer is not None:
            heat = explainer.image(image, class_score(int(top[0])))
            answer["explanation"] = explainer.write(options["explain"], path, image, heat, names[int(top[0])])
        return answer

    return handle, options["json"], None
