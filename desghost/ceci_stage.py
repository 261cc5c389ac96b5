"""desghost as a ceci pipeline stage (LSST DESC's pipeline framework), MPI-parallel by exposure.

The stage is a thin shell: every rank runs the steps of
:func:`desghost.pipeline.process_exposure` on its share of the exposures, with the detector
batched (``batch_size``) and the CCDs of one exposure read by ``workers`` processes (``split_tasks_by_rank``); rank 0 then merges all ranks' results into
the catalog and the night's exclusion table.  Example pipeline: ``stage/desghost_pipeline.yml``.
"""
from ceci import PipelineStage
from ceci.file_types import DataFile, Directory, FitsFile, TextFile


class SqliteFile(DataFile):
    """The desghost catalog (an SQLite file)."""

    suffix = "sqlite"

    @classmethod
    def open(cls, path, mode, **kwargs):
        return path

    def close(self):
        pass


class DesghostMasking(PipelineStage):
    """Find ghosts and scattered light in a list of DECam exposures and write masks and exclusions."""

    name = "DesghostMasking"
    parallel = True
    inputs = [("exposure_list", TextFile)]
    outputs = [("products", Directory), ("exclusion_table", FitsFile), ("catalog", SqliteFile)]
    config_options = {
        "model": "default",          # a .safetensors model file, or "default" for the shipped one
        "threshold": 0.8,            # detection score threshold
        "area_threshold": 0.0,       # CCD covered fraction for exclusion (0: any pixel)
        "device": "auto",
        "row_step": 1,
        "batch_size": 0,             # images per forward pass; 0: 1 on CPU (identical to `desghost run`), 8 on GPU
        "workers": 1,                # processes reading the CCDs of one exposure, per rank
    }

    def run(self):
        import os

        from .batchrun import resolve_batch_size
        from .model import resolve_device
        from .night import discover_inputs
        from .pipeline import RunConfig
        from .stage_support import merge_results, process_for_stage

        paths = discover_inputs([self.get_input("exposure_list")])
        outdir = self.get_output("products")
        os.makedirs(outdir, exist_ok=True)
        if self.is_mpi():
            self.comm.Barrier()
        model = self.config["model"]
        cfg = RunConfig(model=None if model == "default" else model, device=self.config["device"],
                        threshold=self.config["threshold"], area_threshold=self.config["area_threshold"],
                        row_step=self.config["row_step"], workers=self.config["workers"])
        batch = resolve_batch_size(self.config["batch_size"], resolve_device(cfg.device))
        mine = process_for_stage(list(self.split_tasks_by_rank(paths)), outdir, cfg, batch)
        gathered = self.comm.gather(mine, root=0) if self.is_mpi() else [mine]
        if self.rank == 0:
            results = [r for part in gathered for r in part]
            merge_results(results, self.get_output("catalog"), self.get_output("exclusion_table"))
            print(f"DesghostMasking: {sum(r['ok'] for r in results)} of {len(results)} exposures done "
                  f"on {self.size} rank(s)", flush=True)
