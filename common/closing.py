"""``ClosedOnExit``: a mixin for objects that own a resource (a worker process, a file) released by ``close()``.

``with obj:`` closes it on leaving the block, and garbage collection closes it too (best effort:
exceptions at interpreter shutdown are ignored). ``close()`` must be idempotent.
"""

from __future__ import annotations


class ClosedOnExit:
    """Mixin: ``__enter__`` returns self; ``__exit__`` and ``__del__`` call ``self.close()``."""

    def close(self) -> None:  # pragma: no cover - always overridden
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown, or a half-built object
            pass
