"""lfp: the Large File Processor service, its client and its command line."""

__version__ = "0.1.0"
