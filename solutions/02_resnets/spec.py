"""Assignment 02, Residual networks: the identity block, the convolutional block and ResNet50.

Read by the course's tools only (``course.spec``); students never see it.
"""

from course.spec import Assignment, Mistake, Probe, QualityBar, TestCell
from utils.checking.compare import Close, Exact, Structure

MODELS = "utils.checking.models"
BLOCKS = "utils.resnets"
# Seeded forward passes; docs/tolerances.md gives the measured spread between CPU kernels and the
# smallest effect of a known mistake for each probe.
NETWORK = Close(rtol=1e-3, atol=1e-4)
# ResNet50 in training mode normalises stage-5 maps of 2x2 pixels with batch statistics, which
# amplifies summation-order differences: float64 moves it 3.3e-5, 15x inside NETWORK. Three times
# wider keeps 45x headroom and still lies 286x the tolerance from the closest known mistake.
RESNET_TRAINING = Close(rtol=3e-3, atol=3e-4)

# Settings of the blocks. F1, F2 and F3 differ so that filters used in the wrong order show; the
# hidden settings change f, the sizes and the stride.
ID = {"shape": [3, 4, 4, 6], "f": 3, "filters": [2, 4, 6]}
ID_HIDDEN = {"shape": [4, 5, 5, 4], "f": 2, "filters": [3, 5, 4]}
CONV = {"shape": [3, 5, 5, 3], "f": 3, "filters": [2, 4, 6], "s": 2}
CONV_HIDDEN = {"shape": [4, 6, 6, 4], "f": 2, "filters": [5, 3, 7], "s": 3}

AS_BUILT = ("on a seeded batch in inference mode, kernels from initializer(seed=0), seeded BatchNorm statistics")
BATCH_STATS = "on a seeded batch (BatchNorm must use the batch statistics)"
USES_BLOCKS = "ResNet50 calls your identity_block and convolutional_block."

TESTS = (
    TestCell("identity_block_test_structure", "identity_block", 1,
             "identity_block: output shape and layers are correct.", (
                 Probe("identity_block/output_shape", f"{BLOCKS}:block_output_shape",
                       "output shape for X of shape (3, 4, 4, 6), f=3, filters=[2, 4, 6]", Exact(), ID,
                       expected=[3, 4, 4, 6]),  # an identity block keeps the shape of its input
                 Probe("identity_block/layers", f"{BLOCKS}:block_layers",
                       "layer-by-layer structure for X of shape (None, 4, 4, 6), f=3, filters=[2, 4, 6]",
                       Structure(), ID),
             )),
    TestCell("identity_block_test_inference", "identity_block", 1,
             "identity_block: the output in inference mode matches the reference.", (
                 Probe("identity_block/inference", f"{BLOCKS}:block_as_built",
                       f"output of identity_block(X, f=3, filters=[2, 4, 6], initializer=...) {AS_BUILT}",
                       NETWORK, {**ID, "bn_seed": 10, "input_seed": 10}),
                 Probe("identity_block/seeded_inference", f"{BLOCKS}:block_seeded",
                       "output with seeded weights, X of shape (None, 5, 5, 4), f=2, filters=[3, 5, 4] "
                       "(inference mode)", NETWORK,
                       {**ID_HIDDEN, "weight_seed": 12, "input_seed": 13, "training": False}, hidden=True),
             )),
    TestCell("identity_block_test_training", "identity_block", 2,
             "identity_block: the output in training mode matches the reference.", (
                 Probe("identity_block/training", f"{BLOCKS}:block_training",
                       f"output of identity_block(X, f=3, filters=[2, 4, 6], training=True, initializer=...) "
                       f"{BATCH_STATS}", NETWORK, {**ID, "input_seed": 11}),
                 Probe("identity_block/seeded_training", f"{BLOCKS}:block_seeded",
                       "output with seeded weights, X of shape (None, 5, 5, 4), f=2, filters=[3, 5, 4] "
                       "(training mode)", NETWORK,
                       {**ID_HIDDEN, "weight_seed": 14, "input_seed": 15, "training": True}, hidden=True),
             )),
    TestCell("convolutional_block_test_structure", "convolutional_block", 1,
             "convolutional_block: output shape and layers are correct.", (
                 Probe("convolutional_block/output_shape", f"{BLOCKS}:block_output_shape",
                       "output shape for X of shape (3, 5, 5, 3), f=3, filters=[2, 4, 6], s=2", Exact(), CONV,
                       expected=[3, 3, 3, 6]),  # a 1x1 'valid' convolution with stride 2: (5 - 1) // 2 + 1 = 3; F3 = 6
                 Probe("convolutional_block/layers", f"{BLOCKS}:block_layers",
                       "layer-by-layer structure for X of shape (None, 5, 5, 3), f=3, filters=[2, 4, 6], s=2",
                       Structure(), CONV),
             )),
    TestCell("convolutional_block_test_inference", "convolutional_block", 1,
             "convolutional_block: the output in inference mode matches the reference.", (
                 Probe("convolutional_block/inference", f"{BLOCKS}:block_as_built",
                       f"output of convolutional_block(X, f=3, filters=[2, 4, 6], s=2, initializer=...) {AS_BUILT}",
                       NETWORK, {**CONV, "bn_seed": 30, "input_seed": 30}),
                 Probe("convolutional_block/seeded_inference", f"{BLOCKS}:block_seeded",
                       "output with seeded weights, X of shape (None, 6, 6, 4), f=2, filters=[5, 3, 7], s=3 "
                       "(inference mode)", NETWORK,
                       {**CONV_HIDDEN, "weight_seed": 32, "input_seed": 33, "training": False}, hidden=True),
             )),
    TestCell("convolutional_block_test_training", "convolutional_block", 2,
             "convolutional_block: the output in training mode matches the reference.", (
                 Probe("convolutional_block/training", f"{BLOCKS}:block_training",
                       f"output of convolutional_block(X, f=3, filters=[2, 4, 6], s=2, training=True, "
                       f"initializer=...) {BATCH_STATS}", NETWORK, {**CONV, "input_seed": 31}),
                 Probe("convolutional_block/seeded_training", f"{BLOCKS}:block_seeded",
                       "output with seeded weights, X of shape (None, 6, 6, 4), f=2, filters=[5, 3, 7], s=3 "
                       "(training mode)", NETWORK,
                       {**CONV_HIDDEN, "weight_seed": 34, "input_seed": 35, "training": True}, hidden=True),
             )),
    TestCell("ResNet50_test_interface", "ResNet50", 1,
             "ResNet50: input, output and parameter counts are correct.", (
                 Probe("ResNet50/interface", f"{MODELS}:interface",
                       "input shape, output shape and parameter counts of ResNet50()", Exact(),
                       # The published counts of ResNet50 for 64x64x3 pictures and 6 classes; the
                       # non-trainable ones are BatchNorm's moving means and variances.
                       expected={"input_shape": [None, 64, 64, 3], "output_shape": [None, 6],
                                 "params": 23_600_006, "non_trainable_params": 53_120},
                       advice="Compare each stage with the table: number of identity blocks, filters and "
                              "strides; each BatchNormalization has 2 non-trainable numbers per channel. "
                              "model.summary() lists every layer."),
                 Probe("ResNet50/interface_other_args", f"{MODELS}:interface",
                       "input shape, output shape and parameter counts of ResNet50(input_shape=(96, 96, 1), "
                       "classes=4) (are both arguments used?)", Exact(),
                       {"kwargs": {"input_shape": [96, 96, 1], "classes": 4}}, hidden=True),
             ), comment=USES_BLOCKS),
    TestCell("ResNet50_test_layers", "ResNet50", 2, "ResNet50: all layers match.", (
        Probe("ResNet50/layers", f"{MODELS}:layers", "layer-by-layer structure of ResNet50()", Structure()),
    ), comment=USES_BLOCKS),
    TestCell("ResNet50_test_forward", "ResNet50", 2, "ResNet50: the forward pass matches the reference.", (
        Probe("ResNet50/forward", f"{BLOCKS}:resnet_forward",
              "output of ResNet50() on a seeded batch with seeded weights (inference mode)", NETWORK,
              {"weight_seed": 40, "input_seed": 41}),
        Probe("ResNet50/forward_training", f"{BLOCKS}:resnet_forward",
              "output of ResNet50() on a seeded batch with seeded weights (training mode)", RESNET_TRAINING,
              {"weight_seed": 42, "input_seed": 43, "training": True}, hidden=True),
    ), comment=USES_BLOCKS),
)

# Lines of the reference answers (without their indentation).
ID_CONV1 = ("X = Conv2D(filters=F1, kernel_size=1, strides=(1, 1), padding='valid', "
            "kernel_initializer=initializer(seed=0))(X)\n")
ID_CONV2 = ("X = Conv2D(filters=F2, kernel_size=f, strides=(1, 1), padding='same', "
            "kernel_initializer=initializer(seed=0))(X)\n")
ID_CONV3 = ("X = Conv2D(filters=F3, kernel_size=1, strides=(1, 1), padding='valid', "
            "kernel_initializer=initializer(seed=0))(X)\n")
CONV_CONV1 = ("X = Conv2D(filters=F1, kernel_size=1, strides=(s, s), padding='valid', "
              "kernel_initializer=initializer(seed=0))(X)\n")
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

MISTAKES = (
    # --- identity_block -----------------------------------------------------------------------
    Mistake("id_bn_without_training", "identity_block",
            ((ID_CONV1 + BN, ID_CONV1 + BN_NO_TRAINING),
             (ID_CONV2 + BN, ID_CONV2 + BN_NO_TRAINING),
             (ID_CONV3 + BN, ID_CONV3 + BN_NO_TRAINING)),
            frozenset({ID_TRAINING}),
            "With training=True your block still normalises with BatchNorm's moving averages: pass the "
            "block's argument on to every batch normalisation, BatchNormalization(axis=3)(X, training=training).",
            variant=((ID_CONV1 + BN, ID_CONV1 + "    X = BatchNormalization(axis=-1)(X)\n"),
                     (ID_CONV2 + BN, ID_CONV2 + "    X = BatchNormalization(axis=-1)(X)\n"),
                     (ID_CONV3 + BN, ID_CONV3 + "    X = BatchNormalization(axis=-1)(X)\n"))),
    Mistake("id_add_before_last_bn", "identity_block",
            ((BN + "    # add the shortcut, then the final ReLU\n" + ADD,
              "    # add the shortcut, then the final ReLU\n" + ADD + BN),),
            ID_ALL | {RN_LAYERS, RN_FORWARD},
            "The shortcut is added before the last BatchNormalization. The order is: 1x1 convolution, "
            "BatchNormalization, then Add()([X, X_shortcut]), then ReLU.",
            variant=((BN + "    # add the shortcut, then the final ReLU\n" + ADD,
                      "    # add the shortcut, then the final ReLU\n"
                      "    X = tf.keras.layers.add([X_shortcut, X])\n" + BN),)),
    Mistake("id_no_final_relu", "identity_block",
            ((ADD + FINAL_RELU, ADD),),
            ID_ALL | {RN_LAYERS, RN_FORWARD},
            "The ReLU after the addition is missing: the block ends with Add() and then Activation('relu').",
            variant=((ADD + FINAL_RELU, "    X = X + X_shortcut\n"),)),
    Mistake("id_same_padding_1x1", "identity_block",
            ((ID_CONV1, ID_CONV1.replace("'valid'", "'same'")),
             (ID_CONV3, ID_CONV3.replace("'valid'", "'same'"))),
            frozenset({ID_STRUCTURE, RN_LAYERS}),
            "The 1x1 convolutions use padding='valid' (only the f x f convolution uses 'same'). With a 1x1 "
            "window both give the same numbers, but the layer settings must match the specification.",
            variant=((ID_CONV1, 'X = Conv2D(F1, (1, 1), padding="same", kernel_initializer=initializer(seed=0))(X)\n'),
                     (ID_CONV3, 'X = Conv2D(kernel_size=1, filters=F3, padding="same", '
                                'kernel_initializer=initializer(seed=0))(X)\n'))),
    Mistake("id_wrong_seed", "identity_block",
            ((ID_CONV1, ID_CONV1.replace("initializer(seed=0)", "initializer(seed=1)")),),
            frozenset({ID_INFERENCE, ID_TRAINING}),
            "The weights differ from the ones initializer(seed=0) gives: every convolution needs "
            "kernel_initializer=initializer(seed=0), with the block's initializer argument and seed 0.",
            variant=((ID_CONV1, "X = Conv2D(F1, 1, kernel_initializer=initializer(seed=1), padding='valid')(X)\n"),)),
    Mistake("id_initializer_not_called", "identity_block",
            ((ID_CONV2, ID_CONV2.replace("initializer(seed=0)", "initializer")),),
            frozenset({ID_INFERENCE, ID_TRAINING}),
            "A convolution gets kernel_initializer=initializer without calling it: write "
            "kernel_initializer=initializer(seed=0), so the weights are seeded.",
            variant=((ID_CONV2, "X = Conv2D(F2, (f, f), padding='same', kernel_initializer=initializer)(X)\n"),)),
    Mistake("id_filters_swapped", "identity_block",
            ((ID_CONV1, ID_CONV1.replace("filters=F1", "filters=F2")),
             (ID_CONV2, ID_CONV2.replace("filters=F2", "filters=F1"))),
            ID_ALL,
            "The filters are used in the wrong order: F1 filters for the first 1x1 convolution, F2 for the "
            "f x f convolution, F3 for the last 1x1 convolution.",
            variant=(("    F1, F2, F3 = filters\n", "    F2, F1, F3 = filters\n"),)),
    # --- convolutional_block ------------------------------------------------------------------
    Mistake("conv_stride_on_middle_conv", "convolutional_block",
            ((CONV_CONV1, CONV_CONV1.replace("strides=(s, s)", "strides=(1, 1)")),
             (ID_CONV2, ID_CONV2.replace("strides=(1, 1)", "strides=(s, s)"))),
            CONV_ALL | {RN_LAYERS, RN_FORWARD},
            "The stride s belongs to the first 1x1 convolution of the main path (and to the shortcut's "
            "convolution); the f x f convolution has stride 1.",
            variant=((CONV_CONV1, "X = Conv2D(filters=F1, kernel_size=1, padding='valid', "
                                  "kernel_initializer=initializer(seed=0))(X)\n"),
                     (ID_CONV2, "X = Conv2D(F2, f, strides=s, padding='same', "
                                "kernel_initializer=initializer(seed=0))(X)\n"))),
    Mistake("conv_shortcut_without_bn", "convolutional_block",
            ((SHORTCUT_BN, ""),),
            CONV_ALL | RN_ALL,
            "The shortcut's convolution is not followed by BatchNormalization(axis=3)(X_shortcut, training=training).",
            variant=((SHORTCUT_BN, "    BatchNormalization(axis=3)(X_shortcut, training=training)\n"),)),
    Mistake("conv_shortcut_bn_without_training", "convolutional_block",
            ((SHORTCUT_BN, SHORTCUT_BN.replace(", training=training)", ")")),),
            frozenset({CONV_TRAINING}),
            "With training=True a batch normalisation still uses its moving averages: pass training=training "
            "to every BatchNormalization call, the shortcut's included.",
            variant=(("kernel_initializer=initializer(seed=0))(X_shortcut)\n" + SHORTCUT_BN,
                      "kernel_initializer=initializer(seed=0))(X_shortcut, training=training)\n"
                      "    X_shortcut = BatchNormalization(axis=3)(X_shortcut)\n"),)),
    Mistake("conv_shortcut_hardcoded_initializer", "convolutional_block",
            (("kernel_initializer=initializer(seed=0))(X_shortcut)",
              "kernel_initializer=glorot_uniform(seed=0))(X_shortcut)"),),
            frozenset({CONV_INFERENCE, CONV_TRAINING}),
            "The weights differ from the ones the block's initializer argument gives: use "
            "kernel_initializer=initializer(seed=0) for every convolution, the shortcut's included, "
            "not a fixed initializer such as glorot_uniform.",
            variant=(("kernel_initializer=initializer(seed=0))(X_shortcut)",
                      "kernel_initializer=tf.keras.initializers.GlorotUniform(seed=0))(X_shortcut)"),)),
    Mistake("conv_shortcut_without_stride", "convolutional_block",
            (("strides=(s, s), padding='valid',\n", "strides=(1, 1), padding='valid',\n"),),
            CONV_ALL | RN_ALL,
            "The shortcut's 1x1 convolution needs the same stride s as the main path, or the two paths "
            "have different sizes and cannot be added.",
            variant=(("X_shortcut = Conv2D(filters=F3, kernel_size=1, strides=(s, s), padding='valid',\n"
                      "                        kernel_initializer=initializer(seed=0))(X_shortcut)\n",
                      "X_shortcut = Conv2D(F3, 1, kernel_initializer=initializer(seed=0))(X_shortcut)\n"),)),
    # --- ResNet50 -----------------------------------------------------------------------------
    Mistake("resnet_max_pool_head", "ResNet50",
            (("AveragePooling2D((2, 2))", "MaxPooling2D((2, 2))"),),
            frozenset({RN_LAYERS, RN_FORWARD}),
            "The classifier starts with AveragePooling2D((2, 2)), not max-pooling.",
            variant=(("AveragePooling2D((2, 2))", "tf.keras.layers.MaxPool2D(pool_size=2)"),)),
    Mistake("resnet_stage3_stride_1", "ResNet50",
            (("filters=[128, 128, 512], s=2", "filters=[128, 128, 512], s=1"),),
            RN_ALL,
            "Stage 3's convolutional block halves the picture: it uses s=2 (only stage 2 uses s=1).",
            variant=(("convolutional_block(X, f=3, filters=[128, 128, 512], s=2)",
                      "convolutional_block(X, 3, [128, 128, 512], 1)"),)),
    Mistake("resnet_stage4_one_block_short", "ResNet50",
            (("    X = identity_block(X, 3, [256, 256, 1024])\n\n", "\n"),),
            RN_ALL,
            "A stage has the wrong number of blocks: stage 4 is one convolutional block and 5 identity "
            "blocks (stages 2, 3, 4, 5 have 2, 3, 5, 2 identity blocks).",
            variant=(("    X = identity_block(X, 3, [256, 256, 1024])\n" * 5,
                      "    for _ in range(4):\n        X = identity_block(X, 3, [256, 256, 1024])\n"),)),
    Mistake("resnet_ignores_classes", "ResNet50",
            (("Dense(classes,", "Dense(6,"),),
            frozenset({RN_INTERFACE}),
            "The last Dense layer must have `classes` units: use the argument, not a fixed 6.",
            variant=(("Dense(classes,", "Dense(len(SIGN_NAMES),"),)),
)


SPEC = Assignment(
    id="02_resnets",
    title="Residual networks",
    notebook="resnets.ipynb",
    helper="utils.resnets",
    answers=("identity_block", "convolutional_block", "ResNet50"),
    tests=TESTS,
    mistakes=MISTAKES,
    partly_wrong=("id_bn_without_training", "resnet_max_pool_head"),
    data=("signs/signs.h5",),
    quality=(QualityBar("ResNet50", 0.92, loader="utils.data:load_signs_dataset"),),
    # Not run while grading (course.cells.skipped_while_grading): the data's first look, the examples and the
    # gradient-norm experiment.
    display_only=("8cdad4dc", "f0d0f40a", "9e869907",),
)
