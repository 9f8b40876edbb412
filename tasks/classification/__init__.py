"""Image classification: a backbone, global pooling and a dense head."""
