"""Object detection: anchor-free detector (PAN neck, decoupled head, task-aligned assignment)."""
