"""Write the Keras-made model files rgru's saving tests read.

Real Keras 3.15.1 (NumPy backend, see ../shared/keras-oracle/README.md):

  . ../shared/keras-oracle/env.sh
  $PY tools/keras-fixtures/saving.py tests/testthat/fixtures/keras

For each model NAME it writes, into the output folder:
  NAME.keras         model.save()               (Keras 3's zip archive)
  NAME.weights.h5    model.save_weights()       (for the models in WEIGHTS_TOO)
  NAME.h5            model.save(... ".h5")      (Keras's legacy HDF5, LEGACY_TOO)
  NAME.json          {"inputs": [...], "outputs": [...], "second_outputs",
                      "multi_input", "multi_output",
                      "optimizer": {...}} -- predictions of the model for fixed
                     inputs (a list when the model has several inputs/outputs),
                     float64 lists; for stateful models the outputs of a second
                     call on new inputs; for compiled models the optimizer's
                     variables by Keras path.
Biases are drawn from N(0, 0.3^2) after construction (Keras's zero default
would hide bias layout mistakes). The float64 model runs with Keras's float64
promotion patched to stay float64 (what the TensorFlow backend does), and is
called directly (predict() would cast its inputs to float32), so its outputs
are float64-accurate.

Also `gru_sequential_deflated.keras` (gru_sequential.keras with deflated
members, as zip tools rewrite archives) and `legacy_tf_keras_gru.h5`: a Keras 2 (tf-keras 2.x) style legacy file,
written with h5py the way tf_keras/saving/legacy/hdf5_format.py lays it out
(layer_names / weight_names attributes, "gru/gru_cell/kernel:0" datasets, a
tf-keras GRU config with time_major and implementation), with the predictions
of the same network built in Keras 3 (whose legacy loader rejects time_major).
"""
import json
import os
import sys
import zipfile

import h5py
import numpy as np

import keras
from keras.src.backend.common import dtypes as kdtypes

OUT = sys.argv[1] if len(sys.argv) > 1 else "keras-fixtures"
os.makedirs(OUT, exist_ok=True)
T, D, B = 6, 5, 3
WEIGHTS_TOO = {"gru_sequential", "functional_multi", "rnn_gru_cell"}
LEGACY_TOO = {"gru_sequential", "functional_multi", "compiled_adam", "embedding_mask_zero"}


def gru(units, **kw):
    return keras.layers.GRU(units, **kw)


def build(name):
    """The model NAME, built; each exercises config fields or weights rgru reads."""
    if name == "gru_sequential":
        return keras.Sequential([keras.Input((T, D)), gru(4, return_sequences=True),
                                 gru(3), keras.layers.Dense(2)], name=name)
    if name == "gru_reset_before":
        return keras.Sequential([keras.Input((T, D)),
                                 gru(4, reset_after=False, return_sequences=True),
                                 gru(3, reset_after=False), keras.layers.Dense(2)], name=name)
    if name == "gru_no_bias":
        return keras.Sequential([keras.Input((T, D)),
                                 gru(4, use_bias=False, return_sequences=True),
                                 gru(3, use_bias=False, reset_after=False),
                                 keras.layers.Dense(2, use_bias=False)], name=name)
    if name == "gru_go_backwards":
        return keras.Sequential([keras.Input((T, D)),
                                 gru(4, go_backwards=True, return_sequences=True),
                                 gru(3, go_backwards=True), keras.layers.Dense(2)], name=name)
    if name == "gru_stateful":
        return keras.Sequential([keras.Input(batch_shape=(B, T, D)),
                                 gru(4, stateful=True, return_sequences=True),
                                 gru(3, stateful=True), keras.layers.Dense(2)], name=name)
    if name == "gru_options":
        return keras.Sequential([
            keras.Input((T, D)),
            gru(4, activation="relu", recurrent_activation="hard_sigmoid", dropout=0.2,
                recurrent_dropout=0.1, seed=7, return_sequences=True,
                kernel_initializer=keras.initializers.HeNormal(seed=3),
                recurrent_initializer=keras.initializers.Orthogonal(gain=0.5),
                bias_initializer="ones",
                kernel_regularizer=keras.regularizers.L2(0.01),
                recurrent_regularizer=keras.regularizers.L1L2(l1=0.001, l2=0.002),
                activity_regularizer=keras.regularizers.L1(0.003),
                kernel_constraint=keras.constraints.MaxNorm(2.0, axis=0),
                bias_constraint=keras.constraints.NonNeg()),
            gru(3, activation="elu", unroll=True),
            keras.layers.Dense(2, activation="softmax",
                               kernel_constraint=keras.constraints.UnitNorm(axis=0)),
        ], name=name)
    if name == "rnn_gru_cell":
        inp = keras.Input((T, D), name="seq_in")
        x = keras.layers.RNN(keras.layers.GRUCell(4), return_sequences=True, name="rnn_a")(inp)
        x = keras.layers.RNN(keras.layers.GRUCell(3, reset_after=False),
                             go_backwards=True, name="rnn_b")(x)
        out = keras.layers.Dense(2, name="head")(x)
        return keras.Model(inp, out, name=name)
    if name == "embedding_mask_zero":
        inp = keras.Input((T,), dtype="int32", name="tokens")
        x = keras.layers.Embedding(12, D, mask_zero=True, name="embed")(inp)
        x = gru(4, return_sequences=True, name="g1")(x)
        x = gru(3, name="g2")(x)
        return keras.Model(inp, keras.layers.Dense(2, name="out")(x), name=name)
    if name == "masking_sequential":
        return keras.Sequential([keras.Input((T, D)), keras.layers.Masking(0.0),
                                 gru(4, return_sequences=True), gru(3),
                                 keras.layers.Dense(2)], name=name)
    if name == "functional_multi":
        seq = keras.Input((T, D), name="seq")
        ctx = keras.Input((2,), name="ctx")
        h0 = keras.layers.Dense(4, activation="tanh", name="init_state")(ctx)
        whole, state = gru(4, return_sequences=True, return_state=True,
                           name="encoder")(seq, initial_state=h0)
        shared = keras.layers.Dense(3, name="shared")
        a = shared(state)
        b = shared(gru(4, name="summary")(whole))
        seq_out = keras.layers.Dense(2, name="per_step")(whole)
        return keras.Model([seq, ctx], [a, b, seq_out], name=name)
    if name == "float64_model":
        return keras.Sequential([keras.Input((T, D), dtype="float64"),
                                 gru(4, return_sequences=True, dtype="float64"),
                                 gru(3, reset_after=False, dtype="float64"),
                                 keras.layers.Dense(2, dtype="float64")], name=name)
    if name in ("compiled_adam", "compiled_sgd", "compiled_rmsprop"):
        model = keras.Sequential([keras.Input((T, D)), gru(4), keras.layers.Dense(1)],
                                 name=name)
        if name == "compiled_adam":
            model.compile(optimizer=keras.optimizers.Adam(0.01, amsgrad=True),
                          loss="mse", metrics=["mae"])
        elif name == "compiled_sgd":
            model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True,
                                                         clipnorm=1.0),
                          loss=keras.losses.MeanAbsoluteError(), metrics=["mse"])
        else:
            model.compile(optimizer=keras.optimizers.RMSprop(0.002, momentum=0.5,
                                                             centered=True),
                          loss="huber", loss_weights=[2.0])
        return model
    if name == "lstm_model":
        return keras.Sequential([keras.Input((T, D)), keras.layers.LSTM(3),
                                 keras.layers.Dense(2)], name=name)
    raise ValueError(name)


NAMES = ["gru_sequential", "gru_reset_before", "gru_no_bias", "gru_go_backwards",
         "gru_stateful", "gru_options", "rnn_gru_cell", "embedding_mask_zero",
         "masking_sequential", "functional_multi", "float64_model", "compiled_adam",
         "compiled_sgd", "compiled_rmsprop", "lstm_model"]


def inputs_for(name, rng):
    if name == "embedding_mask_zero":
        tokens = rng.integers(1, 12, size=(B, T)).astype("int32")
        tokens[1, 4:] = 0
        tokens[2, 2:] = 0
        return tokens
    dtype = "float64" if name == "float64_model" else "float32"
    x = rng.standard_normal((B, T, D)).astype(dtype)
    if name == "masking_sequential":
        x[1, 4:] = 0.0
        x[2, 3] = 0.0
    if name == "functional_multi":
        return [x, rng.standard_normal((B, 2)).astype("float32")]
    return x


def randomize(model, rng):
    for v in model.weights:
        if v.path.endswith("/bias"):
            v.assign((rng.standard_normal(v.shape) * 0.3).astype(v.dtype))


def fill_optimizer(model, rng):
    """Give the optimizer a state a fresh one lacks (NumPy Keras can't fit)."""
    opt = model.optimizer
    opt.build(model.trainable_variables)
    state = {}
    for i, v in enumerate(opt.variables):
        if i == 0:
            v.assign(7)
        elif v.path.endswith("learning_rate"):
            pass
        else:
            v.assign(np.abs(rng.standard_normal(v.shape)).astype(v.dtype) * 0.01)
        state[v.path] = np.asarray(v.numpy(), np.float64).tolist()
    return state


def tolist(y):
    if isinstance(y, (list, tuple)):
        return [np.asarray(a, np.float64).tolist() for a in y]
    return np.asarray(y, np.float64).tolist()


def write_tf_keras_legacy(rng):
    """A tf-keras 2.x legacy file, laid out as tf_keras's hdf5_format.py writes it."""
    units, feat = 3, D
    kernel = rng.standard_normal((feat, 3 * units)).astype("float32") * 0.4
    recurrent = rng.standard_normal((units, 3 * units)).astype("float32") * 0.4
    bias = rng.standard_normal((2, 3 * units)).astype("float32") * 0.3
    dkernel = rng.standard_normal((units, 2)).astype("float32")
    dbias = rng.standard_normal((2,)).astype("float32") * 0.3
    init = lambda cls, cfg: {"class_name": cls, "config": cfg}
    gru_config = {
        "name": "gru", "trainable": True, "dtype": "float32",
        "batch_input_shape": [None, T, feat],
        "return_sequences": False, "return_state": False, "go_backwards": False,
        "stateful": False, "unroll": False, "time_major": False, "units": units,
        "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
        "kernel_initializer": init("GlorotUniform", {"seed": None}),
        "recurrent_initializer": init("Orthogonal", {"gain": 1.0, "seed": None}),
        "bias_initializer": init("Zeros", {}),
        "kernel_regularizer": None, "recurrent_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "recurrent_constraint": None, "bias_constraint": None,
        "dropout": 0.0, "recurrent_dropout": 0.0, "implementation": 2,
        "reset_after": True}
    dense_config = {
        "name": "dense", "trainable": True, "dtype": "float32", "units": 2,
        "activation": "linear", "use_bias": True,
        "kernel_initializer": init("GlorotUniform", {"seed": None}),
        "bias_initializer": init("Zeros", {}), "kernel_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None}
    model_config = {"class_name": "Sequential", "config": {
        "name": "sequential", "layers": [
            {"class_name": "InputLayer", "config": {
                "batch_input_shape": [None, T, feat], "dtype": "float32",
                "sparse": False, "ragged": False, "name": "gru_input"}},
            {"class_name": "GRU", "config": gru_config},
            {"class_name": "Dense", "config": dense_config}]}}
    path = os.path.join(OUT, "legacy_tf_keras_gru.h5")
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.15.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([b"gru", b"dense"])
        g.attrs["backend"] = b"tensorflow"
        g.attrs["keras_version"] = b"2.15.0"
        for layer, weights in [("dense", [("dense/kernel:0", dkernel), ("dense/bias:0", dbias)]),
                               ("gru", [("gru/gru_cell/kernel:0", kernel),
                                        ("gru/gru_cell/recurrent_kernel:0", recurrent),
                                        ("gru/gru_cell/bias:0", bias)])]:
            lg = g.create_group(layer)
            lg.attrs["weight_names"] = np.array([n.encode("utf8") for n, _ in weights])
            for n, value in weights:
                lg.create_dataset(n, data=value)
        g.create_group("top_level_model_weights").attrs["weight_names"] = np.array([], dtype="S1")
    # Keras 3's legacy loader rejects tf-keras's GRU keywords (time_major), so
    # the reference is the same network built in Keras 3 with those weights.
    model = keras.Sequential([keras.Input((T, feat)), gru(units), keras.layers.Dense(2)])
    model.set_weights([kernel, recurrent, bias, dkernel, dbias])
    x = rng.standard_normal((B, T, feat)).astype("float32")
    with open(os.path.join(OUT, "legacy_tf_keras_gru.json"), "w") as f:
        json.dump({"inputs": tolist(x), "outputs": tolist(model.predict(x, verbose=0))}, f)


def main():
    keras.utils.set_random_seed(1234)
    rng = np.random.default_rng(1234)
    summary = {}
    for name in NAMES:
        model = build(name)
        randomize(model, rng)
        x = inputs_for(name, rng)
        record = {"keras_version": keras.__version__, "inputs": tolist(x),
                  "multi_input": isinstance(x, list)}
        old = kdtypes.BIT64_TO_BIT32_DTYPE["float64"]
        if name == "float64_model":
            kdtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"
        try:
            if name == "float64_model":
                # predict()'s data adapter casts inputs to float32; a call doesn't.
                record["outputs"] = tolist(model(x, training=False))
            else:
                record["outputs"] = tolist(model.predict(x, verbose=0, batch_size=B))
            if name == "gru_stateful":
                x2 = rng.standard_normal((B, T, D)).astype("float32")
                record["second_inputs"] = tolist(x2)
                record["second_outputs"] = tolist(model.predict(x2, verbose=0, batch_size=B))
                for layer in model.layers:
                    if hasattr(layer, "reset_state"):
                        layer.reset_state()
        finally:
            kdtypes.BIT64_TO_BIT32_DTYPE["float64"] = old
        record["multi_output"] = isinstance(model.outputs, list) and len(model.outputs) > 1
        if getattr(model, "optimizer", None) is not None:
            record["optimizer"] = fill_optimizer(model, rng)
        base = os.path.join(OUT, name)
        model.save(base + ".keras")
        if name in WEIGHTS_TOO:
            model.save_weights(base + ".weights.h5")
        if name in LEGACY_TOO:
            model.save(base + ".h5")
        with open(base + ".json", "w") as f:
            json.dump(record, f)
        reloaded = keras.saving.load_model(base + ".keras")
        y = reloaded.predict(x, verbose=0, batch_size=B)
        y0 = record["outputs"]
        diff = max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
                   for a, b in zip(y if isinstance(y, list) else [y],
                                   y0 if isinstance(y, list) else [y0]))
        summary[name] = {"reload_max_abs_diff": diff}
    write_tf_keras_legacy(rng)
    # The same archive with deflated members (as zip tools rewrite it).
    with zipfile.ZipFile(os.path.join(OUT, "gru_sequential.keras")) as src, zipfile.ZipFile(
            os.path.join(OUT, "gru_sequential_deflated.keras"), "w",
            compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
