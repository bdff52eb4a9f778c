"""Generation without torch: a model bundle (npz + JSON) loaded with numpy, its weights laid
out for the numba kernels, and every way of composing on top of them.

``bundle`` (load a bundle), ``tables`` (weights rearranged for the kernels), ``kernels`` (numba:
the LSTM step, register-blocked products, masked sampling), ``settings`` (SamplingSettings),
``sampler`` (generate, continue, harmonize, regenerate), ``stream`` (endless generation and the
live harmonizer's chords).

May import: composer.midi, composer.encoding, composer.theory, composer.score and the bottom
utilities (numpy, numba, llvmlite). Never torch, never Qt.
"""
