"""Blocks used by more than one task: conv-bn-act, resize to a reference, FPN/PAN neck."""
