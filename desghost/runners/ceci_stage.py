"""desghost as a ceci pipeline stage (LSST DESC's pipeline framework), MPI-parallel by exposure.

The stage is a thin shell: the exposures are split between the MPI ranks
(``split_tasks_by_rank``), and every rank runs the steps of
:func:`desghost.driver.exposure.process_exposure` on its share, with the detector batched
(``batch_size``) and the CCDs of one exposure read by ``workers`` processes; rank 0 then merges
all ranks' results into the catalog and the night's exclusion table.  Example pipeline: ``stage/desghost_pipeline.yml``.

:class:`DesghostSimulateNight` makes a night of small simulated exposures and their list, so
``stage/desghost_demo_pipeline.yml`` runs end to end on a fresh install with no data.
"""
import argparse
import os
import sys
import time
import traceback

from ceci import PipelineStage
from ceci.config import StageParameter
from ceci.file_types import DataFile, Directory, FitsFile, TextFile

from desghost.atomic import atomic_path
from desghost.detection.model import resolve_device
from desghost.driver.exposure import RunConfig
from desghost.driver.preflight import claim_expnums
from desghost.driver.scheduling import resolve_batch_size
from desghost.errors import UsageError, failure_reason
from desghost.options import non_negative_int
from desghost.reading.discovery import discover_inputs
from desghost.report.html import write_report
from desghost.report.night_data import SUMMARY_NAME
from desghost.runners.night import NightSummary, write_summary
from desghost.runners.stage_results import merge_results, process_for_stage
from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

__all__ = ["DesghostMasking", "DesghostSimulateNight", "SqliteFile", "stage_run_config"]


class SqliteFile(DataFile):
    """The desghost catalog (an SQLite file)."""

    suffix = "sqlite"

    @classmethod
    def open(cls, path, mode, **kwargs):
        return path

    def close(self):
        pass


def stage_run_config(config):
    """The stage's RunConfig, its options checked as the command line checks them.

    ``workers``, the former name of ``ccd_workers``, is read when ``ccd_workers`` is left at 1
    (kept for one release).

    Returns
    -------
    (RunConfig, int)
        The run configuration and the batch size option (0: the default for the device).

    Raises
    ------
    UsageError
        A value out of range, naming the option (exit code 2).
    """
    names = ("model", "device", "threshold", "area_threshold", "min_ccd_fraction", "row_step", "ccd_workers",
             "workers", "batch_size")
    values = {name: config[name] for name in names}  # ceci's StageConfig.get() gives the parameter object
    if values["ccd_workers"] in (None, 1) and values["workers"] not in (None, 1):
        values["ccd_workers"] = values["workers"]
    try:
        batch = non_negative_int(str(values["batch_size"]))
        return RunConfig.from_options(values), batch
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"DesghostMasking config batch_size: {exc}") from None
    except UsageError as exc:
        raise UsageError(f"DesghostMasking config: {exc}") from None


class DesghostMasking(PipelineStage):
    """Find ghosts and scattered light in a list of DECam exposures and write masks and exclusions."""

    name = "DesghostMasking"
    parallel = True
    inputs = [("exposure_list", TextFile)]
    outputs = [("products", Directory), ("exclusion_table", FitsFile), ("catalog", SqliteFile)]
    config_options = {
        "model": "default",          # a .safetensors model file, or "default" for the shipped one
        "threshold": StageParameter(float, None, required=False,
                                    msg="detection score threshold (default: the model's calibrated one)"),
        "area_threshold": 0.0,       # CCD covered fraction for exclusion (0: any pixel)
        "min_ccd_fraction": 0.5,     # cut-outs with less of their CCD are never excluded
        "device": "auto",
        "row_step": 1,
        "batch_size": 0,             # images per forward pass; 0: 1 on CPU (identical to `desghost run`), 8 on GPU
        "ccd_workers": 1,            # processes reading the CCDs of one exposure, per rank
        "workers": 1,                # the former name of ccd_workers, kept for one release
        "report": True,              # write the HTML report into products/report at the end
    }

    def run(self):
        t0 = time.perf_counter()
        cfg, batch_option = stage_run_config(self.config)
        outdir = self.get_output("products")
        paths = discover_inputs([self.get_input("exposure_list")], outdir=outdir)
        os.makedirs(outdir, exist_ok=True)
        if self.is_mpi():
            self.comm.Barrier()
        batch = resolve_batch_size(batch_option, resolve_device(cfg.device))
        # one input per EXPNUM across all ranks: every rank computes the same claim from the whole list
        kept, refused = claim_expnums([os.path.abspath(p) for p in paths])
        mine = process_for_stage(list(self.split_tasks_by_rank(kept)), outdir, cfg, batch)
        gathered = self.comm.gather(mine, root=0) if self.is_mpi() else [mine]
        if self.rank == 0:
            try:
                self._finish_on_root(gathered, refused, outdir, cfg, batch, t0)
            except BaseException:
                if self.is_mpi():   # the other ranks wait in ceci's closing barrier: end them all, never hang
                    traceback.print_exc()
                    sys.stdout.flush()
                    self.comm.Abort(1)
                raise

    def _finish_on_root(self, gathered, refused, outdir, cfg, batch, t0):
        """Rank 0: merge every rank's results into the catalog and table, the summary and the report."""
        results = [r for part in gathered for r in part]
        results += [{"ok": False, "input": p, "reason": failure_reason(e)[0], "exit_code": e.exit_code}
                    for p, e in refused]
        merge_results(results, self.get_output("catalog"), self.get_output("exclusion_table"))
        for r in results:
            if not r["ok"]:
                print(f"DesghostMasking: failed: {r['reason']}", flush=True)
        print(f"DesghostMasking: {sum(r['ok'] for r in results)} of {len(results)} exposures done "
              f"on {self.size} rank(s)", flush=True)
        summary = NightSummary(done=[r["input"] for r in results if r["ok"]],
                               failed=[(r["input"], r["reason"], r["exit_code"]) for r in results if not r["ok"]],
                               seconds=time.perf_counter() - t0)
        write_summary(os.path.join(outdir, SUMMARY_NAME), summary, cfg, self.size, batch)
        if self.config["report"]:
            try:
                final = os.path.abspath(self.get_output("products", final_name=True))  # outdir's name once done
                index = write_report(outdir, self.get_output("catalog"), display_name=final)
                print(f"DesghostMasking: report {os.path.join(final, os.path.relpath(index, outdir))}", flush=True)
            except Exception as exc:  # noqa: BLE001 - the exposures are done; a failed report does not undo them
                print(f"DesghostMasking: the report was not written: {failure_reason(exc)[0]}", flush=True)


class DesghostSimulateNight(PipelineStage):
    """Write small simulated raw exposures and a list of them (the demo pipeline's first stage)."""

    name = "DesghostSimulateNight"
    parallel = False
    inputs = []
    outputs = [("exposure_list", TextFile), ("exposures", Directory)]
    config_options = {
        "n_exposures": 3,            # how many exposures
        "first_expnum": 700000,      # EXPNUMs first_expnum, first_expnum + 1, ...
        "seed": 0,
        "ccd_shape": "small",        # small: 256x512 CCDs (seconds each); full: 2048x4096 (~0.5 GB each)
    }

    def run(self):
        outdir = self.get_output("exposures")            # ceci's in-progress name, moved on success
        final_dir = self.get_output("exposures", final_name=True)
        os.makedirs(outdir, exist_ok=True)
        paths = []
        for k in range(int(self.config["n_exposures"])):
            expnum = int(self.config["first_expnum"]) + k
            name = f"DECam_{expnum:08d}.fits.fz"
            write_simulated_exposure(os.path.join(outdir, name),
                                     SimulationConfig(expnum=expnum, seed=int(self.config["seed"]) + k,
                                                      ccd_shape=self.config["ccd_shape"]))
            paths.append(os.path.abspath(os.path.join(final_dir, name)))
        with atomic_path(self.get_output("exposure_list")) as tmp:
            tmp.write_text("\n".join(paths) + "\n")
        print(f"DesghostSimulateNight: {len(paths)} exposures in {final_dir}", flush=True)
