"""Training with torch, and everything else that needs it: ``dataset`` (batches with
transposition), ``model`` (the LSTM), ``loop`` (training), ``checkpoint`` (save/load),
``export`` (checkpoint -> runtime bundle), ``evaluate`` (NLL figures).

The only package that imports torch. May import: composer.runtime (to read bundles and sample),
composer.corpus, composer.midi, composer.encoding, composer.score and the bottom utilities.
"""
