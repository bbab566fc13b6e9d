"""bench: run .tflite variants, measure them, judge them, and the ``liteship`` CLI.

Works without TensorFlow: only ai-edge-litert and numpy are needed here.
"""
