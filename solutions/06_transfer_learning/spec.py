"""Assignment 06, Transfer learning with MobileNetV2: augmentation, a new head on a frozen base, fine-tuning.

Read by the course's tools only (``course.spec``); students never see it.
"""

from course.spec import Assignment, Mistake, Probe, TestCell
from utils.checking.compare import Close, Config, Exact, Structure

RUN = "utils.transfer_learning"
MODELS = "utils.checking.models"
# Logits of the pretrained base with a seeded head on committed pictures (docs/06_transfer_learning.md).
NETWORK = Close(rtol=1e-3, atol=1e-4)
# The probes build alpaca_model for 64 x 64 pictures: the same network and weights, a sixth of the work.
SMALL = {"kwargs": {"image_shape": [64, 64]}}

PUBLIC_PICTURES = ["alpaca/alpaca_000.jpg", "alpaca/alpaca_001.jpg", "not alpaca/other_000.jpg",
                   "not alpaca/other_001.jpg"]
HIDDEN_PICTURES = ["alpaca/alpaca_010.jpg", "alpaca/alpaca_020.jpg", "alpaca/alpaca_030.jpg",
                   "not alpaca/other_010.jpg", "not alpaca/other_040.jpg", "not alpaca/other_080.jpg"]

TESTS = (
    TestCell("data_augmenter_test", "data_augmenter", 1, "data_augmenter: the layers and their settings are right.", (
        Probe("data_augmenter/settings", f"{RUN}:augmenter_settings",
              "the augmentation layers and their settings (mode, factor)", Exact(),
              expected=[{"type": "RandomFlip", "mode": "horizontal"},
                        {"type": "RandomRotation", "factor": 0.2}]),
    )),
    TestCell("alpaca_model_test_layers", "alpaca_model", 2, "alpaca_model: all layers match.", (
        Probe("alpaca_model/interface", f"{MODELS}:interface",
              "input shape, output shape and parameter counts for image_shape=(64, 64)", Exact(), SMALL,
              # MobileNetV2 without its top: 2,257,984 parameters, 34,112 of them BatchNorm's moving
              # statistics; frozen, all of them are non-trainable. The head: 1280 + 1.
              expected={"input_shape": [None, 64, 64, 3], "output_shape": [None, 1],
                        "params": 2_259_265, "non_trainable_params": 2_257_984}),
        Probe("alpaca_model/layers", f"{RUN}:head_layers",
              "the layers around the base, in order, for image_shape=(64, 64)", Structure(), SMALL),
        Probe("alpaca_model/base_call", f"{RUN}:base_call",
              "how the base is used: frozen, and called with training=False", Exact(), SMALL,
              expected={"frozen": True, "training_false": True}),
    )),
    TestCell("alpaca_model_test_forward", "alpaca_model", 2, "alpaca_model: the forward pass matches the reference.", (
        Probe("alpaca_model/forward", f"{RUN}:pretrained_forward",
              "logits for four pictures with the shipped base weights and a seeded head, image_shape=(64, 64)",
              NETWORK, {**SMALL, "weight_seed": 1, "names": PUBLIC_PICTURES}),
        Probe("alpaca_model/forward_hidden", f"{RUN}:pretrained_forward",
              "logits for six more pictures, image_shape=(64, 64)", NETWORK,
              {**SMALL, "weight_seed": 3, "names": HIDDEN_PICTURES}, hidden=True),
    )),
    TestCell("fine_tune_test", "fine_tune", 3,
             "fine_tune: the trainable layers, the loss and the optimizer are right.", (
        Probe("fine_tune/state", f"{RUN}:fine_tuning_state",
              "fine_tune(model, 0.001) on a frozen model of the exercise's shape: which layers of the base "
              "train, the loss, the optimizer and its learning rate, the metrics", Config(),
              {"base_learning_rate": 0.001},
              # layers 120-153 of MobileNetV2's 154, less their 12 BatchNormalization layers: 22 (layer 120 is a
              # DepthwiseConv2D)
              expected={"base_trainable": True, "first_trainable": 120, "trainable_layers": 22,
                        "trainable_batchnorm": 0,
                        "loss": "BinaryCrossentropy", "from_logits": True, "optimizer": "Adam",
                        "learning_rate": 1e-4, "metrics": ["accuracy"]}),
    )),
)

AUGMENT = frozenset({"data_augmenter_test"})
LAYERS = frozenset({"alpaca_model_test_layers"})
MODEL_ALL = frozenset({"alpaca_model_test_layers", "alpaca_model_test_forward"})
FINE = frozenset({"fine_tune_test"})

MISTAKES = (
    Mistake("augment_both_flips", "data_augmenter",
            (("RandomFlip('horizontal')", "RandomFlip()"),),
            AUGMENT,
            "RandomFlip should mirror left-right only: RandomFlip('horizontal'). Its default also turns pictures "
            "upside down.",
            variant=(("RandomFlip('horizontal')", 'RandomFlip(mode="horizontal_and_vertical")'),)),
    Mistake("augment_wrong_factor", "data_augmenter",
            (("RandomRotation(0.2)", "RandomRotation(0.1)"),),
            AUGMENT,
            "RandomRotation takes the largest turn as a fraction of a full circle: RandomRotation(0.2).",
            variant=(("RandomRotation(0.2)", "RandomRotation(factor=(-0.1, 0.1))"),)),
    Mistake("alpaca_sigmoid", "alpaca_model",
            (("    outputs = tfl.Dense(1)(x)\n", "    outputs = tfl.Dense(1, activation='sigmoid')(x)\n"),),
            MODEL_ALL,
            "The last Dense layer must have no activation: the model outputs a logit, and "
            "BinaryCrossentropy(from_logits=True) applies the sigmoid itself.",
            variant=(("    outputs = tfl.Dense(1)(x)\n",
                      "    outputs = tfl.Activation('sigmoid')(tfl.Dense(units=1)(x))\n"),)),
    Mistake("alpaca_base_not_frozen", "alpaca_model",
            (("    base_model.trainable = False\n", ""),),
            LAYERS,
            "Freeze the base before you use it: base_model.trainable = False. Only the new head trains at first.",
            variant=(("    base_model.trainable = False\n", "    base_model.trainable = True\n"),)),
    Mistake("alpaca_base_training_mode", "alpaca_model",
            (("base_model(x, training=False)", "base_model(x)"),),
            LAYERS,
            "Call the base with training=False, so that its BatchNormalization layers keep their learned "
            "statistics even when the base is unfrozen for fine-tuning.",
            variant=(("base_model(x, training=False)", "base_model(x, training=True)"),)),
    Mistake("alpaca_no_preprocessing", "alpaca_model",
            (("    x = preprocess_input(x)\n", ""),),
            MODEL_ALL,
            "The pixels must go through preprocess_input (x / 127.5 - 1) before the base: MobileNetV2 expects "
            "values in [-1, 1].",
            variant=(("    x = data_augmentation(inputs)\n    x = preprocess_input(x)\n",
                      "    x = inputs\n    x = data_augmentation(x)\n"),)),
    Mistake("alpaca_no_dropout", "alpaca_model",
            (("    x = tfl.Dropout(0.2)(x)\n", ""),),
            LAYERS,
            "Add Dropout(0.2) between the global average pooling and the Dense layer.",
            variant=(("    x = tfl.Dropout(0.2)(x)\n    outputs = tfl.Dense(1)(x)\n",
                      "    outputs = tfl.Dense(units=1)(x)\n"),)),
    Mistake("fine_tune_wrong_layer", "fine_tune",
            (("    fine_tune_at = 120\n", "    fine_tune_at = 100\n"),),
            FINE,
            "Freeze the base's layers before fine_tune_at = 120 and train the layers from 120 on.",
            variant=(("    fine_tune_at = 120\n", "    fine_tune_at = 120 - 20\n"),)),
    Mistake("fine_tune_slice_reversed", "fine_tune",
            (("base_model.layers[:fine_tune_at]", "base_model.layers[fine_tune_at:]"),),
            FINE,
            "The slice is reversed: freeze the layers *before* fine_tune_at (base_model.layers[:fine_tune_at]); "
            "the top layers are the ones that train.",
            variant=(("base_model.layers[:fine_tune_at]", "base_model.layers[120:]"),)),
    Mistake("fine_tune_nothing_refrozen", "fine_tune",
            (("    for layer in base_model.layers[:fine_tune_at]:\n        layer.trainable = False\n", ""),),
            FINE,
            "After base_model.trainable = True every layer trains: freeze the layers before fine_tune_at again.",
            variant=(("    for layer in base_model.layers[:fine_tune_at]:\n        layer.trainable = False\n",
                      "    for layer in base_model.layers[:fine_tune_at]:\n        layer.trainable = True\n"),)),
    Mistake("fine_tune_same_learning_rate", "fine_tune",
            (("learning_rate=0.1 * base_learning_rate", "learning_rate=base_learning_rate"),),
            FINE,
            "Fine-tune with a learning rate ten times smaller: 0.1 * base_learning_rate.",
            variant=(("tf.keras.optimizers.Adam(learning_rate=0.1 * base_learning_rate)",
                      "tf.keras.optimizers.Adam(base_learning_rate * 1.0)"),)),
    Mistake("fine_tune_base_by_index", "fine_tune",
            (("    base_model = find_base(model)\n", "    base_model = model.layers[4]\n"),),
            FINE,
            "model.layers[4] is the Dropout, not the base: under Keras 3 preprocess_input adds no layer of its "
            "own (Keras 2 added two). Find the base by what it is: base_model = find_base(model).",
            variant=(("    base_model = find_base(model)\n", "    base_model = model.layers[-2]\n"),)),
    Mistake("fine_tune_batchnorm_trains", "fine_tune",
            (("    for layer in base_model.layers[fine_tune_at:]:\n"
              "        if isinstance(layer, tfl.BatchNormalization):\n            layer.trainable = False\n", ""),),
            FINE,
            "Keep the BatchNormalization layers frozen when you unfreeze the top of the base: under Keras 3 a "
            "trainable BatchNormalization normalises with each batch's statistics even when the base is called "
            "with training=False.",
            variant=(("            layer.trainable = False\n", "            layer.trainable = True\n"),)),
    Mistake("fine_tune_probabilities", "fine_tune",
            (("BinaryCrossentropy(from_logits=True)", "BinaryCrossentropy()"),),
            FINE,
            "The model outputs logits: use BinaryCrossentropy(from_logits=True).",
            variant=(("BinaryCrossentropy(from_logits=True)", "BinaryCrossentropy(from_logits=False)"),)),
)


SPEC = Assignment(
    id="06_transfer_learning",
    title="Transfer learning with MobileNetV2",
    notebook="transfer_learning.ipynb",
    helper="utils.transfer_learning",
    answers=("data_augmenter", "alpaca_model", "fine_tune"),
    tests=TESTS,
    mistakes=MISTAKES,
    partly_wrong=("augment_both_flips", "fine_tune_same_learning_rate"),
    data=("transfer_learning/dataset/alpaca/alpaca_000.jpg",
          "transfer_learning/models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5"),
    notebook_seconds=300,
    # Not run while grading (course.cells.skipped_while_grading): the datasets, a batch, the augmented pictures, the
    # base's layers and features, and the frozen model's smoke training and curves.
    display_only=("1e325f14", "19132ec5", "d6eb7051", "6a3a291b", "81c90a0a", "1fd0a390", "8f06f639", "6f305c4f",),
)
