"""Evaluation: negative log-likelihood of a model on held-out music (``composer evaluate``).

Both JSB benchmarks can also be measured with the model's predictions averaged over the piece
transposed by -n..n semitones (``transpositions=n``): at every token the probability is the mean
of what 2n + 1 transposed copies of the model give the token, each seeing only the earlier tokens
(transposed with it). That mixture is itself a model of the same tokens, so the figure is still
exact (if anything high: a copy's probability of a pitch moved out of the MIDI range is lost).

JSB quarter-note model: NLL per frame in nats. A frame's probability is the product of its
tokens' probabilities (pitches high to low, then END), so the figure is exact. Two conventions:
``nll_per_frame`` predicts every frame; ``nll_per_frame_bai`` gives the first frame of each piece
and averages over the others (Bai, Kolter, Koltun 2018).

SATB model: NLL per token, overall and per voice (free: nothing given), and harmonization: NLL of
the alto, tenor and bass tokens given Bach's soprano, three ways:
- without lookahead: each step sees only the soprano so far (``-log`` of the product of
  p(ATB_t | everything before it, soprano up to t));
- with the backward LSTM's lookahead, which reads the whole soprano;
- with the particle lookahead (what harmonize uses): p(ATB | whole soprano) by Bayes' rule from
  the model as a joint model, p(S, ATB) / p(S), where log p(S) is estimated by the sampler's
  particle filter (composer.runtime.sampler.Sampler.sample). The estimate of log p(S) is low on
  average by an amount that shrinks as particles grow, so this figure errs slightly in its own
  favour; ``bench/lookahead.py`` shows it settling as the particles double.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from composer.encoding import SATB_VOICES, encode_satb
from composer.train.dataset import collate, jsb16_example, jsb_example, satb_example

VOICE_NAMES = ("soprano", "alto", "tenor", "bass")


@torch.inference_mode()
def token_nlls(model, examples: list) -> list[np.ndarray]:
    """Per-token NLL (nats) of each example, float64[N_i]."""
    out = []
    for i in range(0, len(examples), 16):
        chunk = examples[i : i + 16]
        batch = collate(chunk)
        logits = model(batch)
        nll = F.cross_entropy(logits.transpose(1, 2), batch["targets"], reduction="none")
        for j, e in enumerate(chunk):
            out.append(nll[j, : len(e.enc)].double().numpy())
    return out


def mixture(members: list[list[np.ndarray]]) -> list[np.ndarray]:
    """Per-token NLL of the equal mixture of several members' predictions (members[m][i]: member
    m's per-token NLL of example i)."""
    out = []
    for per_member in zip(*members):
        stacked = -np.stack(per_member)
        out.append(np.log(len(per_member)) - np.logaddexp.reduce(stacked, axis=0))
    return out


def transposed_nlls(model, pieces: list, transpositions: int, examples) -> list[np.ndarray]:
    """Per-token NLL of each piece under the mixture of the model over the piece transposed by
    -transpositions..transpositions; examples(pieces, semitones) makes the examples, with None for
    a piece that leaves the MIDI range (that copy then gives its tokens no probability)."""
    members = []
    for semitones in range(-transpositions, transpositions + 1):
        made = examples(pieces, semitones)
        nlls = iter(token_nlls(model, [e for e in made if e is not None]))
        members.append([None if e is None else next(nlls) for e in made])
    alone = members[transpositions]  # untransposed: the pieces were checked in range
    if transpositions == 0:
        return alone
    none = [np.full(len(a), np.inf) for a in alone]  # a copy out of range: no probability
    return mixture([[n if n is not None else z for n, z in zip(m, none)] for m in members])


def _quarter_examples(pieces: list, semitones: int) -> list:
    out = []
    for frames in pieces:
        moved = [[p + semitones for p in f] for f in frames]
        inside = all(0 <= p <= 127 for f in moved for p in f)
        out.append(jsb_example(moved, None) if inside else None)
    return out


def _sixteenth_examples(scores: list, semitones: int) -> list:
    from composer.errors import ScoreError

    out = []
    for score in scores:
        try:
            out.append(jsb16_example(score.transpose(semitones), None))
        except ScoreError:
            out.append(None)
    return out


def evaluate_jsb(model, pieces: list, transpositions: int = 0) -> dict:
    nlls = transposed_nlls(model, pieces, transpositions, _quarter_examples)
    frame_nll = []  # per piece: NLL of each frame
    for piece, nll in zip(pieces, nlls):
        sizes = [len(set(f)) + 1 for f in piece]
        bounds = np.cumsum([0] + sizes)
        frame_nll.append(np.array([nll[a:b].sum() for a, b in zip(bounds[:-1], bounds[1:])]))
    frames = sum(len(f) for f in frame_nll)
    total = sum(f.sum() for f in frame_nll)
    bai = sum(f[1:].sum() for f in frame_nll)
    return {
        "nll_per_frame": float(total / frames),
        "nll_per_frame_bai": float(bai / max(1, frames - len(frame_nll))),
        "frames": int(frames),
        "pieces": len(pieces),
    }


def frequency_baseline(train: list, pieces: list) -> dict:
    """The trivial baseline: each of the 88 keys on independently with its training frequency."""
    keys = np.arange(21, 109)
    on = np.zeros(len(keys))
    n = 0
    for piece in train:
        for frame in piece:
            on[np.isin(keys, frame)] += 1
            n += 1
    p = np.clip(on / n, 1e-4, 1 - 1e-4)
    per_piece = []
    for piece in pieces:
        per_piece.append(
            np.array(
                [
                    -(np.log(p[np.isin(keys, f)]).sum() + np.log(1 - p[~np.isin(keys, f)]).sum())
                    for f in piece
                ]
            )
        )
    frames = sum(len(f) for f in per_piece)
    return {
        "nll_per_frame": float(sum(f.sum() for f in per_piece) / frames),
        "nll_per_frame_bai": float(
            sum(f[1:].sum() for f in per_piece) / max(1, frames - len(per_piece))
        ),
        "frames": int(frames),
    }


def soprano_log_likelihood(sampler, score, particles: int, seed: int = 0) -> float:
    """log p(soprano of score) under the model, marginal over alto, tenor and bass: the particle
    filter's estimate with ``particles`` particles (the model's own distribution: temperature 1,
    no top-p, no voice-leading rules)."""
    from composer.runtime.plans import Plan
    from composer.runtime.settings import SamplingSettings

    forced = np.full(score.steps * SATB_VOICES, -1, np.int64)
    forced[0::SATB_VOICES] = encode_satb(score).tokens[0::SATB_VOICES]
    plan = Plan(score.steps, score.time_signature, score.pickup, score.key,
                score.fermata_mask(), forced, lookahead=False)  # fmt: skip
    settings = SamplingSettings.voice_leading("free", top_p=1.0)
    return sampler.sample(plan, settings, 1, seed, particles=particles)[1]


def evaluate_jsb16(model, scores: list, transpositions: int = 0) -> dict:
    """The JSB 16th-note benchmark: NLL per voice token (every voice, every step, rests
    included, S-A-T-B order, nothing given), exact: each token's softmax is over what the model
    may emit there (pitch or REST)."""
    nlls = transposed_nlls(model, scores, transpositions, _sixteenth_examples)
    all_tokens = np.concatenate(nlls)
    out: dict = {
        "pieces": len(scores),
        "nll_per_token": float(all_tokens.mean()),
        "nll_per_step": float(all_tokens.mean() * SATB_VOICES),
        "tokens": int(len(all_tokens)),
    }
    for v, name in enumerate(VOICE_NAMES):
        out[f"nll_{name}"] = float(np.concatenate([n[v::SATB_VOICES] for n in nlls]).mean())
    return out


def evaluate_satb(model, scores: list, sampler=None, particles: int = 0) -> dict:
    out: dict = {"pieces": len(scores)}
    repeat = model.config.repeat
    free = [satb_example(s, None, "free", repeat=repeat) for s in scores]
    nlls = token_nlls(model, free)
    joint = float(sum(n.sum() for n in nlls))
    all_tokens = np.concatenate(nlls)
    out["nll_per_token"] = float(all_tokens.mean())
    out["tokens"] = int(len(all_tokens))
    for v, name in enumerate(VOICE_NAMES):
        out[f"nll_{name}"] = float(np.concatenate([n[v::SATB_VOICES] for n in nlls]).mean())
    harmonize = [satb_example(s, None, "soprano", repeat=repeat) for s in scores]
    for use, label in ((1, "with_lookahead"), (0, "without_lookahead")):
        for e in harmonize:
            e.use_lookahead = use
        nlls = token_nlls(model, harmonize)
        atb = np.concatenate([np.concatenate([n[v::SATB_VOICES] for v in (1, 2, 3)]) for n in nlls])
        out[f"harmonize_atb_nll_{label}"] = float(atb.mean())
    if sampler is not None and particles:
        from tqdm import tqdm

        pieces = tqdm(scores, desc=f"harmonizing with {particles} particles", unit="piece",
                      leave=False, disable=len(scores) < 4)  # fmt: skip
        log_p_soprano = sum(soprano_log_likelihood(sampler, s, particles) for s in pieces)
        atb_tokens = sum(len(n) // SATB_VOICES * 3 for n in nlls)
        out["harmonize_atb_nll_particles"] = (joint + log_p_soprano) / atb_tokens
        out["particles"] = particles
    return out


def evaluate(
    model_dir,
    data: str | None = None,
    split: str = "valid",
    data_file: str | None = None,
    particles: int = 256,
    transpositions: int = 0,
) -> dict:
    """Evaluate a bundle on a split of its own kind of data (or of a given file); JSB models
    with ``transpositions``, the mixture over the pieces transposed by up to that many
    semitones each way."""
    from composer.errors import DataError
    from composer.runtime.bundle import load_bundle
    from composer.train.bundle_writer import model_from_bundle

    bundle = load_bundle(model_dir)
    model = model_from_bundle(bundle)
    encoding = bundle.model["encoding"]
    result: dict = {"model": str(bundle.path), "split": split, "encoding": encoding}
    if transpositions and encoding not in ("jsb-quarter", "jsb-16th"):
        raise DataError("--transpositions measures the JSB models; a SATB model reads keys")
    if transpositions:
        result["transpositions"] = transpositions
    if encoding == "jsb-quarter":
        from composer.corpus import load_jsb

        if data not in (None, "jsb-quarter"):
            raise DataError(f"{bundle.path} is a JSB quarter-note model; use --data jsb-quarter")
        pieces = load_jsb("jsb-quarter", split, data_file)
        result.update(evaluate_jsb(model, pieces, transpositions))
        if data_file is None:
            train = load_jsb("jsb-quarter", "train")
            result["baseline"] = frequency_baseline(train, pieces)
    elif encoding == "jsb-16th":
        from composer.corpus import jsb16_scores, load_jsb

        if data not in (None, "jsb-16th"):
            raise DataError(f"{bundle.path} is a JSB 16th-note model; use --data jsb-16th")
        scores = jsb16_scores(load_jsb("jsb-16th-satb", split, data_file))
        result.update(evaluate_jsb16(model, scores, transpositions))
    else:
        from composer.train.loop import load_pieces

        if data not in (None, "bach") and data.startswith("jsb"):
            raise DataError(f"{bundle.path} is a SATB chorale model; use --data bach or a folder")
        if data_file:
            raise DataError("--data-file takes a JSB JSON file; a SATB model reads --data")
        scores, _, _ = load_pieces(data or "bach", split)
        if not scores:
            raise DataError(f"no pieces in the {split} split of {data or 'bach'}")
        from composer.runtime.sampler import Sampler

        sampler = Sampler(bundle) if particles else None
        result.update(evaluate_satb(model, scores, sampler, particles))
    return result
