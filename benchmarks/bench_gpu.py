"""Detector throughput by batch size on a device, against one CPU image at a time, in one run.

    python benchmarks/bench_gpu.py                        # cuda, batch sizes 1 8 32, 64 images
    python benchmarks/bench_gpu.py --device cpu --images 8 --batch-sizes 1 4   # a CPU check of the script

Prints images per second of ``desghost.detection.detect.detect_images`` with the shipped model
at each batch size (the masks come back to the host: the clock includes that), the speed-up
over CPU batch 1, and the peak GPU memory.  The issue-25 device script runs this after the CUDA
tests (``tests/test_detection_cuda.py``) and before ``python benchmarks/bench_night.py --device cuda``.
"""
import argparse
import time

import numpy as np


def rate(images, model, batch_size):
    from desghost.detection.detect import detect_images
    detect_images(images[:batch_size], model, batch_size=batch_size)  # warm-up: kernels, allocator
    t0 = time.perf_counter()
    detect_images(images, model, batch_size=batch_size)
    return len(images) / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="device to measure (default cuda)")
    ap.add_argument("--images", type=int, default=64, help="synthetic 400x400 images per measurement (default 64)")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32], help="batch sizes (default 1 8 32)")
    ap.add_argument("--cpu-images", type=int, default=8, help="images of the CPU batch-1 reference (default 8)")
    args = ap.parse_args()
    import torch

    from desghost.detection.model import load_model
    from desghost.simulate.training import render_training_image

    images = [render_training_image(np.random.default_rng(k)).image for k in range(args.images)]
    cpu_rate = rate(images[:args.cpu_images], load_model(device="cpu"), 1)
    model = load_model(device=args.device)
    name = torch.cuda.get_device_name() if model.device.startswith("cuda") else "CPU"
    print(f"shipped model, {model.config.tta_views} view(s), {len(images)} images, device {model.device} ({name})")
    print(f"{'batch':>6}{'images/s':>10}{'vs CPU batch 1':>16}{'peak GPU MB':>13}")
    print(f"{'cpu 1':>6}{cpu_rate:>10.2f}{1.0:>15.1f}x{'':>13}")
    for b in args.batch_sizes:
        if model.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        r = rate(images, model, b)
        peak = torch.cuda.max_memory_allocated() / 2**20 if model.device.startswith("cuda") else float("nan")
        print(f"{b:>6}{r:>10.2f}{r / cpu_rate:>15.1f}x{peak:>13.0f}")


if __name__ == "__main__":
    main()
