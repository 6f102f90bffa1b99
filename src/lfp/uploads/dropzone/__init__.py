"""Dropzone.js at /api/v1/dropzone: the protocol adapter over lfp's indexed chunks."""
