"""Instance segmentation: each object's class, box and own mask."""
