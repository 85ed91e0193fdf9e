"""Load rgru-written model files in real Keras 3 and report what Keras computes.

Run by test-saving-oracle.R where ../shared/keras-oracle is set up:
  . env.sh && $PY keras_load.py manifest.json results.json
manifest.json: {"cases": [{"name", "keras": path, "weights": path or null,
  "inputs": array or list of arrays, "multi_input": bool, "float64": bool}]}
results.json: {"keras_version", "cases": {name: {"outputs": (list of) arrays,
  "weights_outputs": outputs of a model built from the archive's config with
  the .weights.h5 loaded, "optimizer": {"class_name", "variables"}, "loss",
  "error": message if Keras failed}}}
float64 cases run with Keras's float64 promotion kept float64 (as the
TensorFlow backend does) and call the model directly (predict() would cast
the inputs to float32).
"""
import json
import os
import sys
import traceback
import zipfile

os.environ.setdefault("KERAS_BACKEND", "numpy")

import numpy as np  # noqa: E402

import keras  # noqa: E402
try:  # Conv1D and MaxPooling1D without JAX; other models run without PyTorch
    import lax_on_torch  # noqa: E402,F401
except ImportError:
    pass
from keras.src.backend.common import dtypes as kdtypes  # noqa: E402


def tolist(y):
    if isinstance(y, (list, tuple)):
        return [np.asarray(a, np.float64).tolist() for a in y]
    return np.asarray(y, np.float64).tolist()


def run(model, x, float64):
    if float64:
        return model(x, training=False)
    batch = len(x[0]) if isinstance(x, list) else len(x)
    return model.predict(x, verbose=0, batch_size=batch)


def main():
    manifest = json.load(open(sys.argv[1]))
    results = {"keras_version": keras.__version__, "cases": {}}
    for case in manifest["cases"]:
        out = {}
        dtype = "float64" if case["float64"] else "float32"
        if case["multi_input"]:
            x = [np.asarray(a, dtype=dtype) for a in case["inputs"]]
        else:
            x = np.asarray(case["inputs"], dtype=dtype)
        old = kdtypes.BIT64_TO_BIT32_DTYPE["float64"]
        if case["float64"]:
            kdtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"
        try:
            model = keras.saving.load_model(case["keras"])
            out["outputs"] = tolist(run(model, x, case["float64"]))
            out["layer_names"] = [layer.name for layer in model.layers]
            if getattr(model, "optimizer", None) is not None:
                out["optimizer"] = {
                    "class_name": type(model.optimizer).__name__,
                    "variables": [np.asarray(v.numpy(), np.float64).tolist()
                                  for v in model.optimizer.variables]}
                out["loss"] = model.loss if isinstance(model.loss, str) else type(model.loss).__name__
            if case.get("weights"):
                with zipfile.ZipFile(case["keras"]) as z:
                    fresh = keras.models.model_from_json(z.read("config.json").decode())
                fresh.load_weights(case["weights"])
                out["weights_outputs"] = tolist(run(fresh, x, case["float64"]))
        except Exception:
            out["error"] = traceback.format_exc()
        finally:
            kdtypes.BIT64_TO_BIT32_DTYPE["float64"] = old
        results["cases"][case["name"]] = out
    with open(sys.argv[2], "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
