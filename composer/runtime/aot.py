"""Compile the kernels a composing job calls ahead of time, into an extension module that loads
without numba (composer/runtime/native.py loads it; ``./run.sh setup`` runs this):

    python -m composer.runtime.aot            # build it unless it is there for these sources
    python -m composer.runtime.aot --force    # build it again

numba.pycc (deprecated, still in numba 0.68) compiles kernels.run_positions, conditioning_rows,
backward_lookahead and faults.count_batch, with everything they call, into one shared library
with a Python wrapper for each. What makes its code the jit's, so that both write the same notes
bit for bit:

- the host CPU with the host's features (pycc's default is a generic x86-64: no AVX, no FMA);
  the extension is named by a key over the CPU, the sources, numba and llvmlite
  (native.build_key), so another machine never loads it;
- each kernel compiled by its own dispatcher, with its own options (fastmath, error model):
  pycc compiles what it exports with flags of its own, so it exports a shim per kernel (below)
  that only calls it;
- nogil: the wrappers release the GIL during the call, which the sampler's two threads need.

Needs a C compiler and Python's headers (pycc compiles numba's runtime helpers in C). It runs in
a process of its own, with numba's cache in a temporary folder: pycc links the kernels' LLVM IR,
which numba's cache does not keep. Takes about half a minute; when it fails, composing uses
numba's kernels as before.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from composer.runtime import native

# The kernels' modules: build() imports them once numba's cache is pointed away (numba reads
# NUMBA_CACHE_DIR as it is imported); the shims below read them as globals when compiled.
kernels = faults = None

# What pycc exports: a call each, so the kernel itself is compiled by its dispatcher, with the
# options it is compiled with for the jit (pycc's flags reach only these shims).


def run_positions(state, start, stop, inputs, weights, draw, outputs):
    kernels.run_positions(state, start, stop, inputs, weights, draw, outputs)


def conditioning_rows(T_slot, slot, T_pos, pos, T_ferm, ferm, T_key, key, out):
    kernels.conditioning_rows(T_slot, slot, T_pos, pos, T_ferm, ferm, T_key, key, out)


def backward_lookahead(fixed, pos, vocab, T_fix, T_pos, W_hh, out_h):
    kernels.backward_lookahead(fixed, pos, vocab, T_fix, T_pos, W_hh, out_h)


def count_batch(tokens, first, stop, beats, fermatas, rules, out):
    faults.count_batch(tokens, first, stop, beats, fermatas, rules, out)


def build(directory: Path | None = None, verbose: bool = False) -> Path:
    """Build the extension for these sources into ``directory``; returns its path. Run in a
    fresh process (``python -m composer.runtime.aot``): numba must not have loaded the kernels
    from its cache, and this replaces pycc's compiler flags while it runs."""
    global kernels, faults
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if not shutil.which(compiler):  # before numba compiles for a minute in vain
        raise RuntimeError(f"no C compiler ({compiler}); on Debian: apt-get install gcc")
    key = native.build_key()
    name = native.module_name(key)
    with tempfile.TemporaryDirectory(prefix="composer-aot-") as tmp:
        os.environ["NUMBA_CACHE_DIR"] = tmp  # before numba is imported: compile from source
        from numba.core import codegen
        from numba.core import compiler as numba_compiler
        from numba.core.registry import cpu_target
        from numba.pycc import cc as pycc_cc
        from numba.pycc import compiler as pycc_compiler

        from composer.runtime import faults, kernels  # the globals the shims read

        class HostCodegen(codegen.AOTCPUCodegen):
            """pycc's object-file codegen for this CPU and all its features, as the jit's."""

            def _customize_tm_features(self):
                return self._get_host_cpu_features()

        class HostModuleCompiler(pycc_compiler.ModuleCompiler):
            def __init__(self, export_entries, module_name, use_nrt=False, **aot_options):
                super().__init__(export_entries, module_name, use_nrt, **aot_options)
                self.context = cpu_target.target_context.subtarget(
                    _internal_codegen=HostCodegen(module_name, cpu_name="host"), aot_mode=True
                )

        class ShimFlags(numba_compiler.Flags):
            """pycc's flags for the shims, whose wrappers release the GIL (nogil)."""

            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.release_gil = True

        class HostCC(pycc_cc.CC):
            def _compile_object_files(self, build_dir):
                compiler = HostModuleCompiler(
                    self._export_entries, self._basename, self._use_nrt, cpu_name="host"
                )
                compiler.external_init_function = self._init_function
                temp_obj = os.path.join(build_dir, f"{self._basename}.o")
                compiler.write_native_object(temp_obj, wrap=True)
                return [temp_obj], compiler.dll_exports

        shims = {  # name: (shim, the kernel it calls)
            "run_positions": (run_positions, kernels.run_positions),
            "conditioning_rows": (conditioning_rows, kernels.conditioning_rows),
            "backward_lookahead": (backward_lookahead, kernels.backward_lookahead),
            "count_batch": (count_batch, faults.count_batch),
        }
        assert set(shims) == set(native.EXPORTS)
        cc = HostCC(name, source_module=kernels)
        cc.verbose = verbose
        cc.output_dir = tmp
        cc.output_file = native.extension_path(key).name
        signatures = {}
        for export, (shim, dispatcher) in shims.items():
            [sig] = dispatcher.nopython_signatures  # each has one explicit signature
            cc.export(export, sig)(shim)
            signatures[export] = [_describe(t) for t in sig.args]
        saved = pycc_compiler.Flags
        pycc_compiler.Flags = ShimFlags  # what pycc's _cull_exports compiles with
        try:
            cc.compile()
        finally:
            pycc_compiler.Flags = saved
        built = Path(tmp, cc.output_file)
        directory = directory or native.DIRECTORY
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob("aot_*"):  # builds for other sources or CPUs
            old.unlink()
        target, meta = native.built_files(key, directory)
        meta.write_text(json.dumps(signatures))
        shutil.move(built, target.with_name(target.name + ".tmp"))
        os.replace(target.with_name(target.name + ".tmp"), target)  # last: the extension whole
        return target


def _describe(ty) -> list:
    """A numba type as native.py checks it (see native._parse)."""
    from numba import types

    if isinstance(ty, types.Array):
        if ty.layout != "C" or not ty.mutable:
            raise ValueError(f"{ty}: native.py checks writable C arrays only")
        return ["array", str(ty.dtype), ty.ndim]
    if isinstance(ty, types.BaseTuple):
        return ["tuple", [_describe(t) for t in ty.types]]
    return ["scalar", str(ty)]


def is_current(directory: Path | None = None) -> bool:
    """Whether the extension for these sources, numba, CPU and Python is built there."""
    key = native.build_key()
    return all(p.exists() for p in native.built_files(key, directory))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m composer.runtime.aot", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--force", action="store_true", help="build even if it is current")
    parser.add_argument("--verbose", action="store_true", help="show the C compiler's commands")
    args = parser.parse_args(argv)
    if not args.force and is_current():
        print(f"up to date: {native.extension_path(native.build_key())}")
        return 0
    started = time.monotonic()
    try:
        path = build(verbose=args.verbose)
    except Exception as e:  # noqa: BLE001  no compiler, no headers, pycc gone: numba's kernels
        print(
            f"composer: the kernels were not compiled ahead of time ({type(e).__name__}: {e}); "
            "composing uses numba's kernels (a slower start)",
            file=sys.stderr,
        )
        return 1
    print(f"built {path} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
