"""What a model file records of its training (desghost.detection.model)."""

from desghost.detection.model import trained_real_images


def test_trained_real_images_follows_init_models_and_averaged_parents():
    run = {"train_config": {"real_fraction": 0.35}, "real_images_trained": ["b.jpg"],
           "init_model_real_images": {"names": ["a.jpg"], "complete": True}}
    assert trained_real_images({"training": run}) == ({"a.jpg", "b.jpg"}, True)
    old = {"train_config": {"real_fraction": 0.35}}  # predates the record
    soup = {"training": {"weight_average_of": ["x", "y"]}, "weight_average": {"training": [run, old]}}
    assert trained_real_images(soup) == ({"a.jpg", "b.jpg"}, False)
    synthetic_only = {"training": {"train_config": {"real_fraction": 0.0}, "real_images_trained": []}}
    assert trained_real_images(synthetic_only) == (set(), True)
