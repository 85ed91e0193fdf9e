"""Write Keras-made model files covering every layer class rgru reads and writes
besides GRU, Dense, Embedding and Masking (those are in saving.py).

Real Keras 3.15.1 (NumPy backend, see ../shared/keras-oracle/README.md):

  . ../shared/keras-oracle/env.sh
  $PY tools/keras-fixtures/saving_layers.py tests/testthat/fixtures/keras

For each model NAME: NAME.keras (model.save()), NAME.weights.h5
(model.save_weights(), for WEIGHTS_TOO), NAME.h5 (model.save("NAME.h5"), for
LEGACY_TOO) and NAME.json (inputs and Keras's predictions, in the
format of saving.py). Biases are drawn from N(0, 0.3^2) after construction.
Masked inputs never mask a sample's first step (Keras's backends disagree on
the output there; see README.md). Convolutions and pooling windows run on
PyTorch's primitives, given to Keras's NumPy backend by
tests/testthat/python/lax_on_torch.py (JAX is not installable here);
everything above them is Keras's own code.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "testthat", "python"))
import lax_on_torch  # noqa: E402,F401
import keras
from keras import layers

from saving import randomize, tolist

OUT = sys.argv[1] if len(sys.argv) > 1 else "keras-fixtures"
os.makedirs(OUT, exist_ok=True)
T, D, B = 6, 5, 3


def build(name):
    if name == "bidirectional_masked":
        return keras.Sequential([
            keras.Input((T, D)), layers.Masking(0.0),
            layers.Bidirectional(layers.GRU(4, return_sequences=True)),
            layers.Bidirectional(layers.GRU(3), merge_mode="ave",
                                 backward_layer=layers.GRU(3, go_backwards=True,
                                                           reset_after=False)),
            layers.Dense(2)], name=name)
    if name == "bidirectional_functional":
        inp = keras.Input((T, D), name="padded")
        x = layers.Masking(0.0, name="mask")(inp)
        x = layers.Bidirectional(layers.GRU(4, return_sequences=True), merge_mode="mul",
                                 name="bi_seq")(x)
        x = layers.TimeDistributed(layers.Dense(3, activation="tanh"), name="td")(x)
        x = layers.Bidirectional(layers.RNN(layers.GRUCell(2)), merge_mode="sum",
                                 name="bi_rnn")(x)
        return keras.Model(inp, layers.Dense(2, name="head")(x), name=name)
    if name == "conv_pool_sequential":
        return keras.Sequential([
            keras.Input((T, D)),
            layers.Conv1D(6, 3, padding="causal", dilation_rate=2, activation="relu"),
            layers.Dropout(0.3, seed=1),
            layers.SpatialDropout1D(0.2),
            layers.MaxPooling1D(2),
            layers.TimeDistributed(layers.Dense(4, activation="tanh")),
            layers.Activation("sigmoid"),
            layers.Conv1D(4, 2, groups=2, strides=1, use_bias=False,
                          kernel_initializer="he_normal"),
            layers.GlobalAveragePooling1D(),
            layers.Dense(2)], name=name)
    if name == "pool_options":
        return keras.Sequential([
            keras.Input((T, D)),
            layers.Conv1D(4, 2, strides=2, padding="same"),
            layers.MaxPooling1D(pool_size=2, strides=1, padding="same"),
            layers.GlobalMaxPooling1D(keepdims=True),
            layers.Flatten(),
            layers.Dense(2)], name=name)
    if name == "reshaping_sequential":
        return keras.Sequential([
            keras.Input((T, D)), layers.Flatten(), layers.Dense(8), layers.RepeatVector(3),
            layers.GRU(4, return_sequences=True), layers.GlobalMaxPooling1D(keepdims=True),
            layers.Reshape((2, -1)), layers.Flatten(), layers.Dropout(0.1, noise_shape=(None, 1)),
            layers.Dense(2)], name=name)
    if name == "stacked_cells_masked":
        return keras.Sequential([
            keras.Input((T, D)), layers.Masking(0.0),
            layers.RNN([layers.GRUCell(4), layers.GRUCell(3, reset_after=False)],
                       return_sequences=True),
            layers.TimeDistributed(layers.Dense(2))], name=name)
    if name == "merging_functional":
        a = keras.Input((T, D), name="a")
        b = keras.Input((T, 3), name="b")
        ga = layers.GRU(4, return_sequences=True, name="ga")(a)
        c = layers.Concatenate(name="cat_features")([ga, b])
        gb = layers.GRU(4, return_sequences=True, name="gb")(c)
        s = layers.Add(name="add")([ga, gb])
        steps = layers.Concatenate(axis=1, name="cat_steps")([s, ga])
        pooled = layers.GlobalAveragePooling1D(name="pool")(steps)
        return keras.Model([a, b], layers.Dense(2, name="head")(pooled), name=name)
    if name == "merging_masked":
        # Masks merge by OR; the unmasked input "extra" keeps every step.
        a = keras.Input((T, D), name="padded")
        extra = keras.Input((T, 2), name="extra")
        m = layers.Masking(0.0, name="mask")(a)
        g1 = layers.GRU(4, return_sequences=True, name="g1")(m)
        g2 = layers.GRU(4, return_sequences=True, go_backwards=True, name="g2")(m)
        c = layers.Concatenate(name="cat")([g1, g2])
        s = layers.Add(name="add")([g1, g2])
        out = layers.GRU(3, name="g3")(layers.Concatenate(name="cat2")([c, s]))
        kept = layers.GRU(2, name="g4")(layers.Concatenate(name="cat3")([s, extra]))
        head = layers.Dense(2, name="head")(layers.Concatenate(name="cat4")([out, kept]))
        return keras.Model([a, extra], head, name=name)
    raise ValueError(name)


NAMES = ["bidirectional_masked", "bidirectional_functional", "conv_pool_sequential",
         "pool_options", "reshaping_sequential", "stacked_cells_masked", "merging_functional",
         "merging_masked"]
# Weights files for two models with nested layers (the others' are in the
# .keras archive's model.weights.h5, the same layout; fixtures stay small).
WEIGHTS_TOO = {"stacked_cells_masked", "conv_pool_sequential"}
# Keras's legacy HDF5 (model.save("x.h5")): nested weights, and mask
# operations in a config without modules.
LEGACY_TOO = {"bidirectional_functional", "merging_masked"}
MASKED = {"bidirectional_masked", "bidirectional_functional", "stacked_cells_masked",
          "merging_masked"}


def inputs_for(name, rng):
    x = rng.standard_normal((B, T, D)).astype("float32")
    if name in MASKED:
        x[1, 4:] = 0.0
        x[2, 3] = 0.0
    if name == "merging_functional":
        return [x, rng.standard_normal((B, T, 3)).astype("float32")]
    if name == "merging_masked":
        return [x, rng.standard_normal((B, T, 2)).astype("float32")]
    return x


def main():
    only = sys.argv[2:]
    keras.utils.set_random_seed(1234)
    rng = np.random.default_rng(4321)
    summary = {}
    for name in NAMES:
        if only and name not in only:
            continue
        try:
            model = build(name)
            randomize(model, rng)
            x = inputs_for(name, rng)
            record = {"keras_version": keras.__version__, "inputs": tolist(x),
                      "multi_input": isinstance(x, list), "multi_output": False,
                      "outputs": tolist(model.predict(x, verbose=0, batch_size=B))}
            base = os.path.join(OUT, name)
            model.save(base + ".keras")
            if name in WEIGHTS_TOO:
                model.save_weights(base + ".weights.h5")
            if name in LEGACY_TOO:
                model.save(base + ".h5")
            with open(base + ".json", "w") as f:
                json.dump(record, f)
            y = keras.saving.load_model(base + ".keras").predict(x, verbose=0, batch_size=B)
            summary[name] = {"reload_max_abs_diff":
                             float(np.abs(np.asarray(y) - np.asarray(record["outputs"])).max())}
        except Exception as e:  # report and go on: one failing model shouldn't hide the rest
            summary[name] = {"error": repr(e)}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
