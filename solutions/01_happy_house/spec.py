"""Assignment 01, Happy House: Keras basics with the Sequential and the Functional API.

Read by the course's tools only (``course.spec``); students never see it.
"""

from course.spec import Assignment, Mistake, Probe, QualityBar, TestCell
from utils.checking.compare import Close, Exact, Structure

MODELS = "utils.checking.models"
# Seeded forward passes of small networks; docs/tolerances.md gives the measured spread between
# CPU kernels and the smallest effect of a known mistake for each probe.
NETWORK = Close(rtol=1e-3, atol=1e-4)
LAYER_ADVICE = ("Compare your layers with the table in the exercise; model.summary() lists each layer's "
                "output shape and parameter count.")

CONV_64 = {"args": [[64, 64, 3]]}
CONV_OTHER = {"args": [[48, 40, 3]]}

TESTS = (
    TestCell("happyModel_test_interface", "happyModel", 1,
             "happyModel: input, output and parameter count are correct.", (
                 Probe("happyModel/interface", f"{MODELS}:interface",
                       "input shape, output shape and parameter counts", Exact(),
                       # 7*7*3*32+32 + 4*32 + 32*32*32+1 parameters, 64 of them BatchNorm's moving statistics
                       expected={"input_shape": [None, 64, 64, 3], "output_shape": [None, 1],
                                 "params": 37_633, "non_trainable_params": 64},
                       advice=LAYER_ADVICE),
             )),
    TestCell("happyModel_test_layers", "happyModel", 1, "happyModel: all layers match.", (
        Probe("happyModel/layers", f"{MODELS}:layers", "layer-by-layer structure", Structure()),
    )),
    TestCell("happyModel_test_forward", "happyModel", 2, "happyModel: the forward pass matches the reference.", (
        Probe("happyModel/forward", f"{MODELS}:forward",
              "output on a seeded batch with seeded weights (inference mode)", NETWORK,
              {"weight_seed": 1, "input_seed": 2}),
        Probe("happyModel/forward_training", f"{MODELS}:forward",
              "output on a seeded batch with seeded weights (training mode, BatchNorm uses batch statistics)",
              NETWORK, {"weight_seed": 3, "input_seed": 4, "batch": 8, "training": True}, hidden=True),
    )),
    TestCell("convolutional_model_test_interface", "convolutional_model", 1,
             "convolutional_model: input, output and parameter count are correct.", (
                 Probe("convolutional_model/interface", f"{MODELS}:interface",
                       "input shape, output shape and parameter counts for input_shape=(64, 64, 3)", Exact(),
                       CONV_64,
                       # 4*4*3*8+8 + 2*2*8*16+16 + 64*6+6 parameters
                       expected={"input_shape": [None, 64, 64, 3], "output_shape": [None, 6],
                                 "params": 1_310, "non_trainable_params": 0},
                       advice=LAYER_ADVICE),
             )),
    TestCell("convolutional_model_test_layers", "convolutional_model", 1, "convolutional_model: all layers match.", (
        Probe("convolutional_model/layers", f"{MODELS}:layers", "layer-by-layer structure for input_shape=(64, 64, 3)",
              Structure(), CONV_64),
    )),
    TestCell("convolutional_model_test_forward", "convolutional_model", 2,
             "convolutional_model: the forward pass matches the reference.", (
                 Probe("convolutional_model/forward", f"{MODELS}:forward",
                       "output on a seeded batch with seeded weights, input_shape=(64, 64, 3)", NETWORK,
                       {**CONV_64, "weight_seed": 5, "input_seed": 6}),
                 Probe("convolutional_model/layers_other_shape", f"{MODELS}:layers",
                       "layer-by-layer structure for input_shape=(48, 40, 3) (is input_shape used?)",
                       Structure(), CONV_OTHER, hidden=True),
                 Probe("convolutional_model/forward_other_shape", f"{MODELS}:forward",
                       "output on a seeded batch with seeded weights, input_shape=(48, 40, 3)", NETWORK,
                       {**CONV_OTHER, "weight_seed": 7, "input_seed": 8}, hidden=True),
             )),
)

HAPPY_ALL = frozenset({"happyModel_test_interface", "happyModel_test_layers", "happyModel_test_forward"})
HAPPY_BEHAVIOUR = frozenset({"happyModel_test_layers", "happyModel_test_forward"})
CONV_ALL = frozenset({"convolutional_model_test_interface", "convolutional_model_test_layers",
                       "convolutional_model_test_forward"})
CONV_BEHAVIOUR = frozenset({"convolutional_model_test_layers", "convolutional_model_test_forward"})

MISTAKES = (
    Mistake("happy_no_batchnorm", "happyModel",
            (("        tfl.BatchNormalization(axis=3),\n", ""),),
            HAPPY_ALL,
            "There is no BatchNormalization layer: add BatchNormalization(axis=3) right after the convolution.",
            variant=(("        tfl.Conv2D(32, (7, 7), strides=(1, 1)),\n        tfl.BatchNormalization(axis=3),\n"
                      "        tfl.ReLU(),\n",
                      "        tfl.Conv2D(32, 7, activation='relu'),\n"),)),
    Mistake("happy_same_padding", "happyModel",
            (("tfl.Conv2D(32, (7, 7), strides=(1, 1))", "tfl.Conv2D(32, (7, 7), strides=(1, 1), padding='same')"),),
            HAPPY_ALL,
            "The convolution uses padding='same'. ZeroPadding2D already pads by 3, so the 7x7 convolution "
            "must use the default padding='valid' to give 64x64.",
            variant=(("tfl.Conv2D(32, (7, 7), strides=(1, 1))",
                      'tfl.Conv2D(kernel_size=7, padding="same", filters=32)'),)),
    Mistake("happy_relu_before_bn", "happyModel",
            (("        tfl.BatchNormalization(axis=3),\n        tfl.ReLU(),\n",
              "        tfl.ReLU(),\n        tfl.BatchNormalization(axis=3),\n"),),
            HAPPY_BEHAVIOUR,
            "ReLU comes before BatchNormalization: the order is Conv2D, BatchNormalization, then ReLU.",
            variant=(("        tfl.BatchNormalization(axis=3),\n        tfl.ReLU(),\n",
                      "        tfl.Activation('relu'),\n        tfl.BatchNormalization(axis=3),\n"),)),
    Mistake("happy_missing_relu", "happyModel",
            (("        tfl.ReLU(),\n", ""),),
            HAPPY_BEHAVIOUR,
            "The ReLU activation is missing after BatchNormalization.",
            variant=(("""    model = tf.keras.Sequential([
        tfl.Input(shape=(64, 64, 3)),
        tfl.ZeroPadding2D(padding=3),
        tfl.Conv2D(32, (7, 7), strides=(1, 1)),
        tfl.BatchNormalization(axis=3),
        tfl.ReLU(),
        tfl.MaxPooling2D(),
        tfl.Flatten(),
        tfl.Dense(1, activation='sigmoid'),
    ])
""", """    model = tf.keras.Sequential()
    model.add(tfl.Input(shape=(64, 64, 3)))
    model.add(tfl.ZeroPadding2D(padding=(3, 3)))
    model.add(tfl.Conv2D(32, (7, 7), strides=(1, 1)))
    model.add(tfl.BatchNormalization(axis=3))
    model.add(tfl.MaxPooling2D())
    model.add(tfl.Flatten())
    model.add(tfl.Dense(1, activation='sigmoid'))
"""),)),
    Mistake("happy_wrong_pool_size", "happyModel",
            (("tfl.MaxPooling2D()", "tfl.MaxPooling2D(pool_size=(4, 4))"),),
            HAPPY_ALL,
            "MaxPooling2D should use its defaults (2x2 pool, stride 2): check pool_size.",
            variant=(("tfl.MaxPooling2D()", "tfl.MaxPool2D(4)"),)),
    Mistake("conv_wrong_pool_size", "convolutional_model",
            (("tfl.MaxPool2D(pool_size=(8, 8), strides=(8, 8), padding='same')(A1)",
              "tfl.MaxPool2D(pool_size=(4, 4), strides=(4, 4), padding='same')(A1)"),),
            CONV_ALL,
            "The first max-pool should be 8x8 with stride 8; check pool_size and strides.",
            variant=(("tfl.MaxPool2D(pool_size=(8, 8), strides=(8, 8), padding='same')(A1)",
                      "tfl.MaxPooling2D(4, padding='same')(A1)"),)),
    Mistake("conv_missing_relu", "convolutional_model",
            (("    A2 = tfl.ReLU()(Z2)\n", "    A2 = Z2\n"),),
            CONV_BEHAVIOUR,
            "The ReLU after the second convolution is missing.",
            variant=(("padding='same')(A2)", "padding='same')(Z2)"),)),
    Mistake("conv_valid_padding", "convolutional_model",
            (("tfl.Conv2D(filters=8, kernel_size=(4, 4), strides=(1, 1), padding='same')",
              "tfl.Conv2D(filters=8, kernel_size=(4, 4), strides=(1, 1), padding='valid')"),),
            CONV_BEHAVIOUR,
            "The first convolution must use padding='same' (the default is 'valid').",
            variant=(("tfl.Conv2D(filters=8, kernel_size=(4, 4), strides=(1, 1), padding='same')",
                      "tfl.Conv2D(8, 4, strides=1)"),)),
    Mistake("conv_ignores_input_shape", "convolutional_model",
            (("tf.keras.Input(shape=input_shape)", "tf.keras.Input(shape=(64, 64, 3))"),),
            frozenset({"convolutional_model_test_forward"}),
            "Your model ignores its input_shape argument: build the Input from input_shape, not from fixed numbers.",
            variant=(("tf.keras.Input(shape=input_shape)", "tfl.Input([64, 64, 3])"),)),
)


SPEC = Assignment(
    id="01_happy_house",
    title="Happy House: Keras basics (Sequential and Functional API)",
    notebook="happy_house.ipynb",
    helper="utils.happy_house",
    answers=("happyModel", "convolutional_model"),
    tests=TESTS,
    mistakes=MISTAKES,
    partly_wrong=("happy_relu_before_bn", "conv_ignores_input_shape"),
    data=("happy/happy.h5", "signs/signs.h5", "images/visitor.png"),
    quality=(QualityBar("happyModel", 0.95, loader="utils.data:load_happy_dataset", baseline_max=0.80),
             QualityBar("convolutional_model", 0.85, loader="utils.data:load_signs_dataset")),
    # Not run while grading (course.cells.skipped_while_grading): the datasets' first look, the example pictures,
    # and the Happy model's smoke training and curves.
    display_only=("d55fa469", "ef7a224b", "17f3815a", "29f9ad1a", "4be851a2", "701a6e64",),
)
