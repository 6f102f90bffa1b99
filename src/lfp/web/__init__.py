"""The web pages `lfp serve` answers at `/`: accounts, uploads, files, jobs, catalogues."""
