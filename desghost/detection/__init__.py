"""Detection: the Mask R-CNN model, inference, test-time views, input images."""
