"""``desghost detect``: instances in focal-plane images or exposures."""
import time

from desghost.cli.common import (
    add_parser,
    device_parent,
    inference_overrides,
    inference_parent,
    json_line,
    model_arg,
    model_parent,
)
from desghost.detection.detect import detect_images
from desghost.detection.inputs import check_input, load_input
from desghost.detection.model import load_model
from desghost.detection.record import detection_record
from desghost.focalplane.ccd_map import ccd_map
from desghost.layout import load_layout
from desghost.options import positive_int

__all__ = ["cmd_detect", "register"]


def register(sub):
    """Add ``detect`` to the subcommands ``sub``."""
    p = add_parser(
        sub, "detect", cmd_detect, parents=[model_parent(threshold_help="score threshold (default: the model's)"),
                                            device_parent(), inference_parent()],
        help="find Bright, Faint and Rays artifacts in focal-plane images or exposures",
        description="Run the detector on 400x400 focal-plane images (.jpg, .png, .npy, .fits) or on "
                    "exposures (assembled first). With --json, one JSON object per input goes to stdout:\n"
                    "  {file, expnum?, model, threshold, tta_views, seconds, ccdnums, instances: [{class, class_id, score,\n"
                    "   bbox: [x0, y0, x1, y1] image px, area_px, mask: COCO RLE {size, counts}, ccdnums}]}\n"
                    "ccdnums follow the products' rule: the live CCDs whose 400x400 layout box holds at least one "
                    "mask pixel (dead and missing CCDs never), i.e. the CCDs `desghost run` excludes at its default "
                    "--area-threshold 0. Images must "
                    "be 400x400 (RGB: the first channel is read); 16-bit images are scaled by 255/65535 and "
                    "float images with values in 0..1 by 255; anything else is refused before the model loads.",
        epilog="examples:\n"
               "  desghost detect Ghost_img_D00243671.jpg\n"
               "  desghost detect DECam_00700000.fits.fz --json > dets.jsonl\n"
               "  desghost detect images/*.png --threshold 0.5 --model runs/m1/model.safetensors --json\n")
    p.add_argument("inputs", nargs="+", help="images or exposures")
    p.add_argument("--json", action="store_true", help="print one JSON object per input")
    p.add_argument("--batch-size", type=positive_int, default=4, help="images per forward pass (default 4)")


def cmd_detect(args):
    model = load_model(model_arg(args.model), device=args.device, overrides=inference_overrides(args))
    checked = [check_input(path) for path in args.inputs]  # every input is sound before any is detected on
    threshold = model.config.score_threshold if args.threshold is None else args.threshold
    layout = load_layout()
    ccd_index = ccd_map(layout)[0]
    for path, pre in zip(args.inputs, checked):
        t0 = time.perf_counter()
        image, meta = load_input(path, checked=pre)
        instances = detect_images([image], model, threshold=threshold, batch_size=args.batch_size)[0]
        dead = set(layout.dead_ccds(meta.get("expnum")))
        if "ccds_present" in meta:   # an exposure: CCDs that gave no pixels are never covered, as in run
            dead |= set(layout.ccds) - set(meta["ccds_present"])
        rec = detection_record(meta, instances, model, threshold, time.perf_counter() - t0, ccd_index, dead)
        if args.json:
            print(json_line(rec), flush=True)
        else:
            summary = ", ".join(f"{i['class']} {i['score']:.2f}" for i in rec["instances"]) or "no artifacts"
            print(f"{path}: {summary}; CCDs {','.join(map(str, rec['ccdnums'])) or '-'}")
    return 0
