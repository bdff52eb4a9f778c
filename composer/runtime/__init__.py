"""Generation without torch: a model bundle (npz + JSON) loaded with numpy, its weights laid
out for the numba kernels, and every way of composing on top of them.

``bundle`` (load a bundle) and ``schema`` (what a bundle must hold, checked on load); ``tables``
(the weights rearranged for the kernels, and the call that runs them); ``kernels`` (numba: the
LSTM step, register-blocked products, masked sampling); ``layout`` (no numba: the typed groups
of arrays the kernels take, the constants both sides read); ``native`` (the kernels as Python
calls them: compiled ahead of time by ``aot`` when built for this machine, else numba's);
``state`` (SamplerState: what each sequence carries from one kernel call to the next);
``settings`` (SamplingSettings); ``plans`` (what each mode fixes and conditions on); ``particles``
(the particle filter: conditions, weights, resampling, the final choice); ``faults`` (numba:
a teacher's faults, theory.counterpoint's, counted for a batch of candidates at once);
``sampler`` (the Sampler: generate, continue, harmonize, regenerate, run in chunks on one or
two threads);
``stream`` (endless generation and the live harmonizer's chords).

May import: composer.midi, composer.encoding, composer.theory, composer.score and the bottom
utilities (numpy, numba, llvmlite). Never torch, never Qt.
"""
