"""Known mistakes in assignment 01 (Happy House)."""

from course.mutants import Mutant

HAPPY_ALL = frozenset({"happyModel_test_interface", "happyModel_test_layers", "happyModel_test_forward"})
HAPPY_BEHAVIOUR = frozenset({"happyModel_test_layers", "happyModel_test_forward"})
CONV_ALL = frozenset({"convolutional_model_test_interface", "convolutional_model_test_layers",
                      "convolutional_model_test_forward"})
CONV_BEHAVIOUR = frozenset({"convolutional_model_test_layers", "convolutional_model_test_forward"})

MUTANTS = [
    Mutant("happy_no_batchnorm", "happyModel",
           (("        tfl.BatchNormalization(axis=3),\n", ""),),
           HAPPY_ALL,
           "There is no BatchNormalization layer: add BatchNormalization(axis=3) right after the convolution."),
    Mutant("happy_same_padding", "happyModel",
           (("tfl.Conv2D(32, (7, 7), strides=(1, 1))", "tfl.Conv2D(32, (7, 7), strides=(1, 1), padding='same')"),),
           HAPPY_ALL,
           "The convolution uses padding='same'. ZeroPadding2D already pads by 3, so the 7x7 convolution "
           "must use the default padding='valid' to give 64x64."),
    Mutant("happy_relu_before_bn", "happyModel",
           (("        tfl.BatchNormalization(axis=3),\n        tfl.ReLU(),\n",
             "        tfl.ReLU(),\n        tfl.BatchNormalization(axis=3),\n"),),
           HAPPY_BEHAVIOUR,
           "ReLU comes before BatchNormalization: the order is Conv2D, BatchNormalization, then ReLU."),
    Mutant("happy_missing_relu", "happyModel",
           (("        tfl.ReLU(),\n", ""),),
           HAPPY_BEHAVIOUR,
           "The ReLU activation is missing after BatchNormalization."),
    Mutant("happy_wrong_pool_size", "happyModel",
           (("tfl.MaxPooling2D()", "tfl.MaxPooling2D(pool_size=(4, 4))"),),
           HAPPY_ALL,
           "MaxPooling2D should use its defaults (2x2 pool, stride 2): check pool_size."),
    Mutant("conv_wrong_pool_size", "convolutional_model",
           (("tfl.MaxPool2D(pool_size=(8, 8), strides=(8, 8), padding='same')(A1)",
             "tfl.MaxPool2D(pool_size=(4, 4), strides=(4, 4), padding='same')(A1)"),),
           CONV_ALL,
           "The first max-pool should be 8x8 with stride 8; check pool_size and strides."),
    Mutant("conv_missing_relu", "convolutional_model",
           (("    A2 = tfl.ReLU()(Z2)\n", "    A2 = Z2\n"),),
           CONV_BEHAVIOUR,
           "The ReLU after the second convolution is missing."),
    Mutant("conv_valid_padding", "convolutional_model",
           (("tfl.Conv2D(filters=8, kernel_size=(4, 4), strides=(1, 1), padding='same')",
             "tfl.Conv2D(filters=8, kernel_size=(4, 4), strides=(1, 1), padding='valid')"),),
           CONV_BEHAVIOUR,
           "The first convolution must use padding='same' (the default is 'valid')."),
    Mutant("conv_ignores_input_shape", "convolutional_model",
           (("tf.keras.Input(shape=input_shape)", "tf.keras.Input(shape=(64, 64, 3))"),),
           frozenset({"convolutional_model_test_forward"}),
           "Your model ignores its input_shape argument: build the Input from input_shape, not from fixed numbers."),
]

# The demo class's "partly wrong" student makes these two mistakes.
PARTLY_WRONG = ["happy_relu_before_bn", "conv_ignores_input_shape"]
