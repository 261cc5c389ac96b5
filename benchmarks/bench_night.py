"""Night throughput on full-size raw exposures: how close the stage comes to the machine's limit.

Runs, in one go and each in a fresh process (so its peak memory is its own):

- the decoders of ``benchmarks/decode_floor.py`` side by side on the first exposure (MB/s of
  decompressed data per CPU second), each in its own process; the one with the most MB/s per
  core in one thread is the decoder of the floor modes;
- ``floor-1`` / ``floor-N``: only decode every HDU of every file with that decoder, in 1 and
  N processes: the hardware floor of any full read.
- ``serial``: the naive way, ``process_exposure`` (= ``desghost run``) on one exposure after
  the other in one process, the model loaded once.
- ``night-1`` / ``night-N``: ``desghost night`` with 1 and N assembly workers (detection
  overlapped in the parent, CPU cores split between them).
- ``io-N``: the same night with N workers and no forward pass: the I/O ceiling of the stage.

Peak memory is the largest sum of the proportional set sizes (PSS) of the process and all its
children, sampled every 0.2 s.

    python benchmarks/bench_night.py                      # 4 exposures in /tmp/desghost-bench-night
    python benchmarks/bench_night.py --exposures 8 --workers 2
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from decode_floor import CANDIDATES, available, print_candidates, run_candidate  # noqa: E402


def simulate(path, expnum):
    from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure
    write_simulated_exposure(path, SimulationConfig(flavor="raw", expnum=expnum, seed=expnum % 1000,
                                                    ccd_shape="full", n_artifacts=2))
    return str(path)


def ensure_exposures(work, n, workers):
    """Full-size simulated raw exposures DECam_0071000k.fits.fz (made once, in parallel)."""
    from concurrent.futures import ProcessPoolExecutor
    work.mkdir(parents=True, exist_ok=True)
    paths = [work / f"DECam_{710000 + k:08d}.fits.fz" for k in range(n)]
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"simulating {len(missing)} full-size raw exposures in {work} (once; about 40 s each)", flush=True)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(simulate, missing, [710000 + paths.index(p) for p in missing]))
    return [str(p) for p in paths]


def _decode(decoder, path):
    return run_candidate(decoder, [path], 1)


def available_cores():
    from desghost.hardware import available_cores as cores
    return cores()


def run_mode(mode, paths, workers, outdir, decoder="tiles-1", device="auto"):
    """Run one mode in this process; print a JSON line with its wall time."""
    t0 = time.perf_counter()
    extra = {}
    if mode.startswith("decoder:"):
        extra = run_candidate(mode[len("decoder:"):], paths, available_cores())
    elif mode.startswith("floor"):
        n = 1 if mode == "floor-1" else workers
        if n == 1:
            for p in paths:
                _decode(decoder, p)
        else:
            from concurrent.futures import ProcessPoolExecutor
            from functools import partial
            with ProcessPoolExecutor(max_workers=n) as pool:
                list(pool.map(partial(_decode, decoder), paths))
    elif mode == "serial":
        from desghost.driver.exposure import RunConfig, process_exposure
        for p in paths:
            process_exposure(p, outdir, RunConfig(device=device))
    else:
        from desghost.driver.exposure import RunConfig
        from desghost.runners.night import run_night
        n = 1 if mode == "night-1" else workers
        s = run_night(paths, outdir, config=RunConfig(device=device), workers=n, progress=False,
                      inference=not mode.startswith("io"))
        if s.failed:
            raise SystemExit(f"{mode}: {len(s.failed)} exposures failed: {s.failed[0]}")
    print(json.dumps({"mode": mode, "seconds": time.perf_counter() - t0, **extra}))


def _tree_pss_mb(proc):
    total = 0
    for p in [proc] + proc.children(recursive=True):
        try:
            info = p.memory_full_info()
            total += getattr(info, "pss", info.rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total / 2**20


def measure(mode, paths, workers, work, decoder="tiles-1", device="auto"):
    """Run a mode in a fresh process, sampling the memory of its process tree."""
    outdir = work / f"out-{mode.replace(':', '_')}"
    shutil.rmtree(outdir, ignore_errors=True)
    cmd = [sys.executable, __file__, "--run-mode", mode, "--workers", str(workers), "--outdir", str(outdir),
           "--decoder", decoder, "--device", device] + paths
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0]
    ps = psutil.Process(proc.pid)

    def sample():
        while proc.poll() is None:
            try:
                peak[0] = max(peak[0], _tree_pss_mb(ps))
            except psutil.NoSuchProcess:
                break
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = peak[0]
    shutil.rmtree(outdir, ignore_errors=True)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", help="(internal) exposures of one mode")
    ap.add_argument("--exposures", type=int, default=4, help="full-size exposures to simulate and process (default 4)")
    ap.add_argument("--workers", type=int, default=available_cores(), help="N (default: the cores)")
    ap.add_argument("--dir", default=os.environ.get("DESGHOST_BENCH_DIR", "/tmp/desghost-bench-night"),
                    help="where the simulated exposures are kept (default /tmp/desghost-bench-night)")
    ap.add_argument("--run-mode", help=argparse.SUPPRESS)
    ap.add_argument("--decoder", default="tiles-1", help=argparse.SUPPRESS)
    ap.add_argument("--device", default="auto", help="device of the detector: auto, cpu or cuda (default auto)")
    ap.add_argument("--outdir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run_mode:
        run_mode(args.run_mode, args.paths, args.workers, args.outdir, args.decoder, args.device)
        return
    work = Path(args.dir)
    paths = ensure_exposures(work, args.exposures, args.workers)
    n, w = len(paths), args.workers
    size_gb = sum(Path(p).stat().st_size for p in paths) / 1e9
    print(f"decoders on {paths[0]}:", flush=True)
    decoders = {c: (measure("decoder:" + c, paths[:1], w, work) if available(c) else None) for c in CANDIDATES}
    print_candidates(decoders, available_cores())
    single = {c: r for c, r in decoders.items() if r and c != "tiles-T"}
    decoder = max(single, key=lambda c: single[c]["mb"] / single[c]["cpu_s"])
    print(f"floor modes decode with {decoder} (the most MB/s per core in one thread), one process per core\n")
    modes = ["floor-1", "floor-N", "serial", "night-1", "night-N", "io-N"]
    results = {}
    for mode in modes:
        print(f"running {mode} ...", flush=True)
        results[mode] = measure(mode, paths, w, work, decoder, args.device)
    floor = results["floor-N"]["seconds"]
    serial = results["serial"]["seconds"]
    print(f"\n{n} full-size raw exposures ({size_gb:.2f} GB compressed), N = {w} workers, "
          f"{available_cores()} cores")
    print(f"{'mode':<10}{'seconds':>9}{'exp/min':>9}{'vs serial':>11}{'of floor-N':>12}{'peak MB':>9}")
    for mode in modes:
        r = results[mode]
        s = r["seconds"]
        print(f"{mode:<10}{s:>9.1f}{n / s * 60:>9.2f}{serial / s:>10.2f}x{floor / s:>11.0%}{r['peak_mb']:>9.0f}")
    e2e, io = results["night-N"]["seconds"], results["io-N"]["seconds"]
    print(f"\nnight-N reaches {io / e2e:.0%} of the I/O ceiling (io-N) and {floor / e2e:.0%} of the "
          f"decompress-only floor; the detector costs {e2e - io:+.1f} s over the night "
          f"({(e2e - io) / n:+.2f} s per exposure).")
    print("of floor-N: floor-N seconds / mode seconds (100% = as fast as only decompressing with N processes).")


if __name__ == "__main__":
    main()
