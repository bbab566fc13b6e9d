"""optimize: a float model -> .tflite variants (float16, dynamic, int8, pruned, QAT, ...)."""
