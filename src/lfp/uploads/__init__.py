"""Chunked uploads: the one state machine that the native API, tus and Dropzone share."""
