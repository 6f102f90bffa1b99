"""tus 1.0.0 at /api/v1/tus/: the protocol adapter over lfp's in-order uploads."""
