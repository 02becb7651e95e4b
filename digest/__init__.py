"""digest: a daily research-paper digest generator.

The library comes first; ``digest.cli`` is a thin layer over it.
"""

__version__ = "0.1.0"
