"""The Python client of lfp's HTTP API: what the CLI, scripts and benchmarks use."""

from lfp.client.api import LfpClient
from lfp.client.errors import LfpError, LfpNetworkError

__all__ = ["LfpClient", "LfpError", "LfpNetworkError"]
