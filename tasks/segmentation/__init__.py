"""Semantic segmentation: DeepLabV3+ (ASPP + shallow skip) or a lighter FPN head."""
