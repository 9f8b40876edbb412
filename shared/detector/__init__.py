"""The anchor-free box head that detection and instance segmentation share: geometry, the head's
layers, target assignment, losses, decoding with NMS, and COCO scoring."""
