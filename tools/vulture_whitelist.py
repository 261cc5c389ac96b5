"""Names vulture (the dead-code finder) cannot see being used: read by libraries, frameworks or as data.

    vulture desghost tools/vulture_whitelist.py --min-confidence 60

reports nothing when desghost has no dead code; tools/test.sh runs it.
"""
from desghost.catalog.review import ReviewedRow
from desghost.catalog.store import Catalog
from desghost.evaluation.metrics import coco_ap  # noqa: F401
from desghost.focalplane.orientation import PixelOrientation
from desghost.layout import CameraLayout, CCDGeometry
from desghost.projection import CCDCoverage

# pycocotools reads these attributes of its COCO and COCOeval objects
_coco = None
_flask = None
_coco.dataset  # noqa: B018
_coco.params.maxDets  # noqa: B018
# record fields: part of what a record says, read by tests, reports and users of the API
PixelOrientation.from_wcs  # noqa: B018
CCDGeometry.x_center_mm  # noqa: B018
CCDGeometry.y_center_mm  # noqa: B018
CameraLayout.pixel_size_mm  # noqa: B018
CameraLayout.box_from_mm  # noqa: B018 - the check that the CCD boxes follow from the mm corners
CCDCoverage.n_image_px  # noqa: B018
# torch modules' forward methods are called by nn.Module.__call__; ceci reads a stage's class attributes
_coco.forward  # noqa: B018
_coco.parallel  # noqa: B018
_coco.config_options  # noqa: B018
# the review API: used by tests and Python callers
Catalog.record_decision  # noqa: B018
ReviewedRow.reviewed  # noqa: B018
# Flask calls the review page's routes (registered by their decorators) and reads its Jinja settings
_flask.autoescape  # noqa: B018
_flask.queue_page  # noqa: B018
_flask.exposure_page  # noqa: B018
_flask.decide  # noqa: B018
_flask.bulk_clean  # noqa: B018
_flask.no_framing  # noqa: B018

