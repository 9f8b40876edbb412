"""Each private Keras or TensorFlow API Trident uses (`shared.patches`) still does what Trident needs.

These fail by name on the upgrade that moves or changes one."""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.backbones import build_backbone
from shared.patches import MultiWorkerFit, graph_outputs, in_multi_worker_mode, sublayers, tflite_ops


def nested():
    inner = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(2, 1), keras.layers.BatchNormalization()])
    inputs = keras.Input((4, 4, 3))
    return keras.Model(inputs, keras.layers.Dense(1)(inner(inputs))), inner


def test_sublayers_reach_nested_layers_and_leave_the_model_out():
    model, inner = nested()
    found = sublayers(model)
    assert model not in found and inner in found
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in found)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)


def test_graph_outputs_are_a_nested_backbones_tensors_in_the_outer_graph():
    backbone = build_backbone("compact")
    inputs = keras.Input((32, 32, 3))
    pyramid = backbone(inputs)
    seen = graph_outputs(backbone)
    assert set(seen) == set(backbone.pyramid_levels)
    assert all(seen[level] is pyramid[level] for level in seen)  # the very tensors the outer model holds
    probe = keras.Model(inputs, [seen[level] for level in backbone.pyramid_levels])
    assert [tuple(t.shape) for t in probe(np.zeros((1, 32, 32, 3), np.float32))][0][0] == 1


def test_one_device_is_not_multi_worker_and_the_strategy_hook_exists():
    assert not in_multi_worker_mode(tf.distribute.get_strategy())
    from tensorflow.python.distribute.collective_all_reduce_strategy import CollectiveAllReduceExtended

    assert callable(getattr(CollectiveAllReduceExtended, "_in_multi_worker_mode"))


def test_the_trainer_hooks_multi_worker_fit_overrides_keep_their_signatures():
    trainer = keras.Model
    build = inspect.signature(trainer._maybe_symbolic_build)
    assert list(build.parameters)[:3] == ["self", "iterator", "data_batch"]
    assert "data_batch" in inspect.signature(trainer._symbolic_build).parameters
    assert hasattr(keras.Model(), "_distribute_strategy")
    assert MultiWorkerFit._maybe_symbolic_build.__code__.co_varnames[:3] == ("self", "iterator", "data_batch")


def test_tflite_ops_list_each_operation_with_its_name_and_tensors():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    interpreter = tf.lite.Interpreter(model_content=tf.lite.TFLiteConverter.from_keras_model(model).convert())
    ops = tflite_ops(interpreter)
    assert ops and {"op_name", "inputs", "outputs"} <= set(ops[0])
    assert "FULLY_CONNECTED" in {op["op_name"] for op in ops}


def test_argparse_values_convert_and_check_as_the_flag_does():
    import argparse

    from shared.patches import argparse_values

    parser = argparse.ArgumentParser()
    count = parser.add_argument("--count", type=int, choices=(1, 2))
    sizes = parser.add_argument("--sizes", type=int, nargs="*")
    assert argparse_values(parser, count, ["2"]) == 2 and argparse_values(parser, sizes, ["3", "4"]) == [3, 4]
    for bad in (["3"], ["x"]):
        with pytest.raises(argparse.ArgumentError, match="--count"):
            argparse_values(parser, count, bad)
