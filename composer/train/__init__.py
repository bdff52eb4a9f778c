"""Training with torch, and everything else that needs it: ``dataset`` (batches with
transposition), ``model`` (the LSTM), ``loop`` (training), ``checkpoint`` (save/load),
``bundle_writer`` (checkpoint -> runtime bundle: ``composer export``; and a bundle back into a
torch model, for evaluation), ``evaluate`` (NLL figures).

The only package that imports torch. May import: composer.runtime (to read bundles and sample),
composer.corpus, composer.midi, composer.encoding, composer.score and the bottom utilities.
"""
