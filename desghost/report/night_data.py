"""What a night's report shows, gathered from its output folder, its catalog and its summary file.

Pure reading: nothing is written here.  An exposure belongs to the night when its exclusion
table is in the output folder; failures come from the night's summary file
(``night_summary.json``, written by ``desghost night`` and the ceci stage) when there is one,
else from the catalog.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path

import fitsio

from desghost.catalog.reviewed import reviewed_list
from desghost.catalog.store import Catalog
from desghost.classes import CLASS_ORDER
from desghost.driver.exposure import expnum_of_product, product_names
from desghost.reading.fitsfile import cfitsio_name, short_error

__all__ = ["collect_night", "ExposureEntry", "FailedEntry", "NightData", "PROVENANCE_CARDS", "SUMMARY_NAME"]

#: The night runner's summary file in the output folder.
SUMMARY_NAME = "night_summary.json"
#: Header cards of the exclusion table that make up an exposure's provenance.
PROVENANCE_CARDS = ("DGVERS", "DGMODEL", "DGTHRESH", "DGAREA", "DGINPUT", "NITE", "DATE")


@dataclass
class ExposureEntry:
    """One done exposure of the night.

    Attributes
    ----------
    expnum : int
    band, date_obs, input : str
    seconds : float or None
        Processing time recorded in the catalog.
    instances : list of dict
        ``{id, class, score, area_px, ccdnums}`` in ``id`` order (the catalog's ``instance_id``,
        highest score first).
    excluded : list of int
        Excluded CCDNUMs.
    products : dict
        ``{name: Path}`` of the products found in the output folder.
    provenance : dict
        The exclusion table's provenance cards.
    nite : str
        The observing night, ``YYYYMMDD`` ("" when unknown).
    warnings : list of str
        The input warnings of the exposure in the last night run (from its summary file).
    review : dict or None
        ``{analysts, n_decisions, reviewed_ccds}`` when a person reviewed the exposure: who, how
        many decisions, and how many CCDs its reviewed list holds.
    """

    expnum: int
    band: str
    date_obs: str
    input: str
    seconds: float | None
    instances: list
    excluded: list
    products: dict
    provenance: dict
    nite: str = ""
    warnings: list = field(default_factory=list)
    review: dict | None = None

    def best_score(self, class_name):
        """The highest score of the class's instances, or None."""
        scores = [i["score"] for i in self.instances if i["class"] == class_name]
        return max(scores) if scores else None

    def count(self, class_name):
        return sum(i["class"] == class_name for i in self.instances)


@dataclass
class FailedEntry:
    """An exposure that failed: its input, the one-line reason and the exit code."""

    input: str
    reason: str
    exit_code: int | None
    earlier_run: bool = False


@dataclass
class NightData:
    """Everything the report of one output folder shows."""

    outdir: Path
    exposures: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    n_done_run: int = 0
    n_skipped: int = 0
    seconds: float | None = None
    exposures_per_minute: float | None = None
    models: list = field(default_factory=list)
    thresholds: list = field(default_factory=list)
    area_thresholds: list = field(default_factory=list)
    summary_found: bool = False
    run_finished: str = ""

    @property
    def nights(self):
        """The observing nights (``YYYYMMDD``) of the done exposures, sorted."""
        return sorted({e.nite for e in self.exposures} - {""})

    def processing_seconds(self):
        """Catalog processing time of the done exposures: ``(total, n)`` over those that have one."""
        seconds = [e.seconds for e in self.exposures if e.seconds is not None]
        return sum(seconds), len(seconds)

    def excluded_fraction_by_ccd(self, ccdnums):
        """``{ccdnum: fraction of the night's done exposures that excluded it}``."""
        n = len(self.exposures)
        return {c: (sum(c in e.excluded for e in self.exposures) / n if n else 0.0) for c in ccdnums}

    def scores_by_class(self):
        """``{class: [scores]}`` of every instance of the night."""
        return {c: [i["score"] for e in self.exposures for i in e.instances if i["class"] == c] for c in CLASS_ORDER}


def _provenance(exclusion_fits):
    with cfitsio_name(exclusion_fits) as name:
        header = fitsio.read_header(name, ext=0)
    return {k: header[k] for k in PROVENANCE_CARDS if k in header}


def collect_night(outdir, catalog_path=None):
    """Gather the report's content for the output folder ``outdir``.

    Parameters
    ----------
    outdir : str or Path
        A folder written by ``desghost night``, ``desghost run`` or the ceci stage.
    catalog_path : str or Path, optional
        Default ``OUTDIR/desghost_catalog.sqlite``; without a catalog the exposures still come
        from the products (without instances' details and processing times).

    Returns
    -------
    NightData
    """
    outdir = Path(outdir)
    catalog_path = Path(catalog_path) if catalog_path else outdir / "desghost_catalog.sqlite"
    data = NightData(outdir=outdir)
    summary_path = outdir / SUMMARY_NAME
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    warned = {}
    for w in (summary or {}).get("warnings", []):
        warned.setdefault(w["input"], []).append(w["message"])
    rows, instances, excluded, failures, reviews = _catalog_rows(catalog_path)
    unreadable = []
    for expnum in sorted(e for p in outdir.glob("D*_desghost_exclude.fits")
                         if (e := expnum_of_product(p.name)) is not None):
        entry = _exposure_entry(outdir, expnum, rows.get(expnum, {}), instances, excluded, warned, unreadable)
        if entry is not None:
            entry.review = reviews.get(expnum)
            data.exposures.append(entry)
    if summary is not None:
        _take_summary(data, summary)
    else:
        data.failures = [FailedEntry(f["input"], f["reason"], f["exit_code"]) for f in failures]
    data.failures += unreadable
    data.models = sorted({str(e.provenance.get("DGMODEL", "")) for e in data.exposures} - {""})
    data.thresholds = sorted({float(e.provenance["DGTHRESH"]) for e in data.exposures if "DGTHRESH" in e.provenance})
    data.area_thresholds = sorted({float(e.provenance["DGAREA"]) for e in data.exposures if "DGAREA" in e.provenance})
    return data


def _catalog_rows(catalog_path):
    """The catalog's desghost rows by EXPNUM: exposures, instances, excluded CCDNUMs, failures, reviews."""
    rows, instances, excluded, failures, reviews = {}, {}, {}, [], {}
    if not catalog_path.exists():
        return rows, instances, excluded, failures, reviews
    with Catalog(catalog_path, readonly=True) as cat:
        for r in cat.query("SELECT * FROM exposures WHERE source='desghost'"):
            rows[r["expnum"]] = r
        for r in cat.query("SELECT expnum, instance_id, class, score, area_px, ccdnums FROM instances "
                           "WHERE source='desghost' ORDER BY expnum, instance_id"):
            instances.setdefault(r["expnum"], []).append(
                {"id": r["instance_id"], "class": r["class"], "score": r["score"], "area_px": r["area_px"],
                 "ccdnums": r["ccdnums"]})
        for r in cat.query("SELECT expnum, ccdnum FROM excluded_ccds WHERE source='desghost' "
                           "AND category='ghost-scatter' ORDER BY ccdnum"):
            excluded.setdefault(r["expnum"], []).append(r["ccdnum"])
        failures = cat.query("SELECT input, reason, exit_code FROM failures WHERE source='desghost' "
                             "ORDER BY input")
        reviews = _reviews(cat)
    return rows, instances, excluded, failures, reviews


def _reviews(cat):
    """``{expnum: {analysts, n_decisions, reviewed_ccds}}`` of the exposures a person reviewed."""
    by_expnum = {}
    for d in cat.decisions():
        by_expnum.setdefault(d.expnum, []).append(d)
    out = {}
    for expnum, decisions in by_expnum.items():
        model_rows = cat.query("SELECT * FROM excluded_ccds WHERE source='desghost' AND category='ghost-scatter'"
                               " AND expnum=?", (expnum,))
        out[expnum] = {"analysts": sorted({d.analyst for d in decisions}), "n_decisions": len(decisions),
                       "reviewed_ccds": len(reviewed_list(cat, model_rows, (expnum, expnum)))}
    return out


def _exposure_entry(outdir, expnum, row, instances, excluded, warned, unreadable):
    """One exposure's entry, or None when its exclusion table cannot be read (then noted in ``unreadable``)."""
    products = {k: outdir / v for k, v in product_names(expnum).items() if (outdir / v).exists()}
    try:   # a stray empty or truncated file under a product's name is reported and skipped
        prov = _provenance(products["exclusion_fits"])
        if not row:  # no catalog row: the exclusion table alone
            with cfitsio_name(products["exclusion_fits"]) as name:
                table = fitsio.read(name, ext="EXCLUDE")
            excluded[expnum] = sorted(int(c) for c in table["CCDNUM"])
    except (OSError, ValueError, KeyError) as exc:
        unreadable.append(FailedEntry(str(products["exclusion_fits"]),
                                      f"unreadable product, left out of the report ({short_error(exc)})", 4))
        return None
    return ExposureEntry(
        expnum=expnum, band=str(row.get("band") or ""), date_obs=str(row.get("date_obs") or ""),
        input=str(row.get("input") or prov.get("DGINPUT", "")), seconds=row.get("seconds"),
        instances=instances.get(expnum, []), excluded=excluded.get(expnum, []), products=products,
        provenance=prov, nite=str(row.get("nite") or prov.get("NITE") or "").strip(),
        warnings=warned.get(str(row.get("input") or ""), []))


def _take_summary(data, summary):
    """Copy the night's summary file into ``data``."""
    data.summary_found = True
    data.n_done_run = int(summary.get("done", 0))
    data.n_skipped = int(summary.get("skipped", 0))
    data.seconds = summary.get("seconds")
    data.exposures_per_minute = summary.get("exposures_per_minute")
    data.run_finished = str(summary.get("finished") or "")
    data.failures = [FailedEntry(f["input"], f["reason"], f.get("exit_code"), bool(f.get("earlier_run")))
                     for f in summary.get("failed", [])]
