"""The GPU path: batched detection and a run on CUDA, checked against the CPU (skipped without CUDA)."""
import numpy as np
import pytest
import torch

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA device here: the GPU path (batched detection, --device cuda) "
                                       "runs only on a machine with one")]


def test_batched_detection_on_cuda_finds_what_the_cpu_finds():
    from desghost.detection.detect import detect_images
    from desghost.detection.model import load_model
    from desghost.simulate.training import render_training_image

    images = [render_training_image(np.random.default_rng(k)).image for k in range(8)]
    cpu = detect_images(images, load_model(device="cpu"), threshold=0.3, batch_size=1)
    gpu = detect_images(images, load_model(device="cuda"), threshold=0.3, batch_size=8)
    assert sum(map(len, cpu)) > 0
    for a, b in zip(cpu, gpu):
        # convolution kernels differ between devices: the same instances up to small score changes
        assert abs(len(a) - len(b)) <= 1
        for x, y in zip(a, b):
            if x.class_name == y.class_name:
                assert abs(x.score - y.score) < 0.05


def test_a_run_on_cuda_writes_the_products(raw_exposure, tmp_path):
    from desghost.driver.exposure import RunConfig
    from desghost.driver.many import process_exposures

    (outcome,) = process_exposures([str(raw_exposure[0])], tmp_path, RunConfig(device="cuda", threshold=0.2),
                                   catalog_path=str(tmp_path / "c.sqlite"), batch_size=8)
    assert outcome.error is None and outcome.result.outputs["mask"]
