"""Lossless decoders of a tile-compressed raw exposure: the candidates for "the floor".

Each candidate decodes every image HDU of one file and throws the pixels away; it returns the
decompressed bytes so that a benchmark reports MB/s of decompressed data per CPU second.

- ``fitsio-rows``: fitsio slice reads of whole rows (``hdu[0:ny, 0:nx]``), the reader's old path;
- ``fitsio-whole``: fitsio whole-HDU reads (``hdu.read()``);
- ``funpack``: cfitsio's own command-line decoder (Debian ``libcfitsio-bin``) writing to /dev/null;
- ``tiles-1`` / ``tiles-T``: imagecodecs' Rice decoder on the raw tile bytes
  (``desghost.reading.rice``), in 1 and T threads of one process.
"""
import os
import resource
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

CANDIDATES = ("fitsio-rows", "fitsio-whole", "funpack", "tiles-1", "tiles-T")


def _hdus(path):
    import fitsio

    from desghost.reading.fitsfile import header_to_dict
    out = []
    with fitsio.FITS(path) as f:
        for hdu in f[1:]:
            if hdu.has_data():
                out.append((hdu.get_extnum(), header_to_dict(hdu.read_header()), hdu.get_offsets()["data_start"]))
    return out


def decode_fitsio(path, whole):
    import fitsio
    n = 0
    with fitsio.FITS(path) as f:
        for hdu in f[1:]:
            if not hdu.has_data():
                continue
            ny, nx = hdu.get_dims()
            pixels = hdu.read() if whole else hdu[0:ny, 0:nx]
            n += pixels.nbytes
    return n


def decode_tiles(path, threads):
    from desghost.reading.rice import read_rice_rows, rice_layout

    def one(item):
        _, header, start = item
        layout = rice_layout(header)
        if layout is None:
            raise SystemExit(f"{path}: HDU not Rice-compressed integers; the tile decoder does not apply")
        return read_rice_rows(path, start, layout, range(layout.ny_px)).nbytes

    hdus = _hdus(path)
    if threads == 1:
        return sum(map(one, hdus))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return sum(pool.map(one, hdus))


def decode_funpack(path):
    """funpack -S (decoded FITS to stdout) into /dev/null; returns the decoded bytes (image HDUs)."""
    with open(os.devnull, "wb") as sink:
        subprocess.run(["funpack", "-S", path], stdout=sink, check=True)
    return sum(h["ZNAXIS1"] * h["ZNAXIS2"] * abs(h["ZBITPIX"]) // 8 for _, h, _ in _hdus(path))


def available(candidate):
    return candidate != "funpack" or shutil.which("funpack") is not None


def run_candidate(candidate, paths, threads):
    """Decode ``paths`` with one candidate: ``{"seconds", "cpu_s", "mb"}`` (CPU includes child processes)."""
    def cpu():
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    t0, c0 = time.perf_counter(), cpu()
    n = 0
    for path in paths:
        if candidate == "fitsio-rows":
            n += decode_fitsio(path, whole=False)
        elif candidate == "fitsio-whole":
            n += decode_fitsio(path, whole=True)
        elif candidate == "funpack":
            n += decode_funpack(path)
        elif candidate == "tiles-1":
            n += decode_tiles(path, 1)
        elif candidate == "tiles-T":
            n += decode_tiles(path, threads)
        else:
            raise ValueError(candidate)
    return {"seconds": time.perf_counter() - t0, "cpu_s": cpu() - c0, "mb": n / 1e6}


def print_candidates(results, threads):
    """The side-by-side table; returns the name of the fastest single-process candidate (wall time)."""
    print(f"{'decoder':<14}{'seconds':>9}{'CPU s':>8}{'MB/s per core':>15}{'MB/s wall':>11}")
    for name, r in results.items():
        if r is None:
            print(f"{name:<14}{'(not installed)':>32}")
            continue
        label = name.replace("-T", f"-{threads}")
        print(f"{label:<14}{r['seconds']:>9.2f}{r['cpu_s']:>8.2f}{r['mb'] / r['cpu_s']:>15.0f}{r['mb'] / r['seconds']:>11.0f}")
    fastest = min((n for n, r in results.items() if r), key=lambda n: results[n]["seconds"])
    print(f"the floor: {fastest.replace('-T', f'-{threads}')} (fastest wall time in one process; "
          "MB = decompressed pixels)")
    return fastest
