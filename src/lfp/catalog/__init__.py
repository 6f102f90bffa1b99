"""The catalogues ingest processors load: titles and products, and their query APIs."""
