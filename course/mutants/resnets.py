"""Known mistakes in assignment 02 (Residual networks).

Patches quote whole lines of the solution cells, so that each one matches
exactly once: the three batch normalisations of a block read the same, and are
told apart by the convolution line just before them.
"""

from course.mutants import Mutant

# Lines of the reference answers (without their indentation).
ID_CONV1 = "X = Conv2D(filters=F1, kernel_size=1, strides=(1, 1), padding='valid', kernel_initializer=initializer(seed=0))(X)\n"
ID_CONV2 = "X = Conv2D(filters=F2, kernel_size=f, strides=(1, 1), padding='same', kernel_initializer=initializer(seed=0))(X)\n"
ID_CONV3 = "X = Conv2D(filters=F3, kernel_size=1, strides=(1, 1), padding='valid', kernel_initializer=initializer(seed=0))(X)\n"
CONV_CONV1 = "X = Conv2D(filters=F1, kernel_size=1, strides=(s, s), padding='valid', kernel_initializer=initializer(seed=0))(X)\n"
BN = "    X = BatchNormalization(axis=3)(X, training=training)\n"
BN_NO_TRAINING = "    X = BatchNormalization(axis=3)(X)\n"
SHORTCUT_BN = "    X_shortcut = BatchNormalization(axis=3)(X_shortcut, training=training)\n"
ADD = "    X = Add()([X, X_shortcut])\n"
FINAL_RELU = "    X = Activation('relu')(X)\n"

ID_STRUCTURE = "identity_block_test_structure"
ID_INFERENCE = "identity_block_test_inference"
ID_TRAINING = "identity_block_test_training"
CONV_STRUCTURE = "convolutional_block_test_structure"
CONV_INFERENCE = "convolutional_block_test_inference"
CONV_TRAINING = "convolutional_block_test_training"
RN_INTERFACE = "ResNet50_test_interface"
RN_LAYERS = "ResNet50_test_layers"
RN_FORWARD = "ResNet50_test_forward"

ID_ALL = frozenset({ID_STRUCTURE, ID_INFERENCE, ID_TRAINING})
CONV_ALL = frozenset({CONV_STRUCTURE, CONV_INFERENCE, CONV_TRAINING})
RN_ALL = frozenset({RN_INTERFACE, RN_LAYERS, RN_FORWARD})

MUTANTS = [
    # --- identity_block -----------------------------------------------------------------------
    Mutant("id_bn_without_training", "identity_block",
           ((ID_CONV1 + BN, ID_CONV1 + BN_NO_TRAINING),
            (ID_CONV2 + BN, ID_CONV2 + BN_NO_TRAINING),
            (ID_CONV3 + BN, ID_CONV3 + BN_NO_TRAINING)),
           frozenset({ID_TRAINING}),
           "With training=True your block still normalises with BatchNorm's moving averages: pass the "
           "block's argument on to every batch normalisation, BatchNormalization(axis=3)(X, training=training)."),
    Mutant("id_add_before_last_bn", "identity_block",
           ((BN + "    # add the shortcut, then the final ReLU\n" + ADD,
             "    # add the shortcut, then the final ReLU\n" + ADD + BN),),
           ID_ALL | {RN_LAYERS, RN_FORWARD},
           "The shortcut is added before the last BatchNormalization. The order is: 1x1 convolution, "
           "BatchNormalization, then Add()([X, X_shortcut]), then ReLU."),
    Mutant("id_no_final_relu", "identity_block",
           ((ADD + FINAL_RELU, ADD),),
           ID_ALL | {RN_LAYERS, RN_FORWARD},
           "The ReLU after the addition is missing: the block ends with Add() and then Activation('relu')."),
    Mutant("id_same_padding_1x1", "identity_block",
           ((ID_CONV1, ID_CONV1.replace("'valid'", "'same'")),
            (ID_CONV3, ID_CONV3.replace("'valid'", "'same'"))),
           frozenset({ID_STRUCTURE, RN_LAYERS}),
           "The 1x1 convolutions use padding='valid' (only the f x f convolution uses 'same'). With a 1x1 "
           "window both give the same numbers, but the layer settings must match the specification."),
    Mutant("id_wrong_seed", "identity_block",
           ((ID_CONV1, ID_CONV1.replace("initializer(seed=0)", "initializer(seed=1)")),),
           frozenset({ID_INFERENCE, ID_TRAINING}),
           "The weights differ from the ones initializer(seed=0) gives: every convolution needs "
           "kernel_initializer=initializer(seed=0), with the block's initializer argument and seed 0."),
    Mutant("id_initializer_not_called", "identity_block",
           ((ID_CONV2, ID_CONV2.replace("initializer(seed=0)", "initializer")),),
           frozenset({ID_INFERENCE, ID_TRAINING}),
           "A convolution gets kernel_initializer=initializer without calling it: write "
           "kernel_initializer=initializer(seed=0), so the weights are seeded."),
    Mutant("id_filters_swapped", "identity_block",
           ((ID_CONV1, ID_CONV1.replace("filters=F1", "filters=F2")),
            (ID_CONV2, ID_CONV2.replace("filters=F2", "filters=F1"))),
           ID_ALL,
           "The filters are used in the wrong order: F1 filters for the first 1x1 convolution, F2 for the "
           "f x f convolution, F3 for the last 1x1 convolution."),
    # --- convolutional_block ------------------------------------------------------------------
    Mutant("conv_stride_on_middle_conv", "convolutional_block",
           ((CONV_CONV1, CONV_CONV1.replace("strides=(s, s)", "strides=(1, 1)")),
            (ID_CONV2, ID_CONV2.replace("strides=(1, 1)", "strides=(s, s)"))),
           CONV_ALL | {RN_LAYERS, RN_FORWARD},
           "The stride s belongs to the first 1x1 convolution of the main path (and to the shortcut's "
           "convolution); the f x f convolution has stride 1."),
    Mutant("conv_shortcut_without_bn", "convolutional_block",
           ((SHORTCUT_BN, ""),),
           CONV_ALL | RN_ALL,
           "The shortcut's convolution is not followed by BatchNormalization(axis=3)(X_shortcut, training=training)."),
    Mutant("conv_shortcut_bn_without_training", "convolutional_block",
           ((SHORTCUT_BN, SHORTCUT_BN.replace(", training=training)", ")")),),
           frozenset({CONV_TRAINING}),
           "With training=True a batch normalisation still uses its moving averages: pass training=training "
           "to every BatchNormalization call, the shortcut's included."),
    Mutant("conv_shortcut_hardcoded_initializer", "convolutional_block",
           (("kernel_initializer=initializer(seed=0))(X_shortcut)", "kernel_initializer=glorot_uniform(seed=0))(X_shortcut)"),),
           frozenset({CONV_INFERENCE, CONV_TRAINING}),
           "The weights differ from the ones the block's initializer argument gives: use "
           "kernel_initializer=initializer(seed=0) for every convolution, the shortcut's included, "
           "not a fixed initializer such as glorot_uniform."),
    Mutant("conv_shortcut_without_stride", "convolutional_block",
           (("strides=(s, s), padding='valid',\n", "strides=(1, 1), padding='valid',\n"),),
           CONV_ALL | RN_ALL,
           "The shortcut's 1x1 convolution needs the same stride s as the main path, or the two paths "
           "have different sizes and cannot be added."),
    # --- ResNet50 -----------------------------------------------------------------------------
    Mutant("resnet_max_pool_head", "ResNet50",
           (("AveragePooling2D((2, 2))", "MaxPooling2D((2, 2))"),),
           frozenset({RN_LAYERS, RN_FORWARD}),
           "The classifier starts with AveragePooling2D((2, 2)), not max-pooling."),
    Mutant("resnet_stage3_stride_1", "ResNet50",
           (("filters=[128, 128, 512], s=2", "filters=[128, 128, 512], s=1"),),
           RN_ALL,
           "Stage 3's convolutional block halves the picture: it uses s=2 (only stage 2 uses s=1)."),
    Mutant("resnet_stage4_one_block_short", "ResNet50",
           (("    X = identity_block(X, 3, [256, 256, 1024])\n\n", "\n"),),
           RN_ALL,
           "A stage has the wrong number of blocks: stage 4 is one convolutional block and 5 identity "
           "blocks (stages 2, 3, 4, 5 have 2, 3, 5, 2 identity blocks)."),
    Mutant("resnet_ignores_classes", "ResNet50",
           (("Dense(classes,", "Dense(6,"),),
           frozenset({RN_INTERFACE}),
           "The last Dense layer must have `classes` units: use the argument, not a fixed 6."),
]

# The demo class's "partly wrong" student makes these two mistakes.
PARTLY_WRONG = ["id_bn_without_training", "resnet_max_pool_head"]
