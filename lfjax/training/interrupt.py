"""Ctrl-C during training: a SIGINT becomes a stop request that the loop honours between steps.

A `KeyboardInterrupt` raised at an arbitrary bytecode can land inside a jitted step whose input
buffers were already donated (the state is then lost), inside an orbax write (leaving a
`*.orbax-checkpoint-tmp*` folder and orbax's event loop half torn down), or inside the first
compile. `StopRequest` avoids all of them: while it is active, SIGINT only counts a request;
the training loop checks it between steps (and once before the first step, so setup and the
first compile finish first), saves synchronously and returns. Further Ctrl-C presses are only
counted, since cutting the save would leave a half-written checkpoint; the save takes well under
a second. The previous handler is restored on exit.
"""

from __future__ import annotations

import signal
import threading


class StopRequest:
    """Context manager that turns SIGINT into a stop request (main thread only; elsewhere inert).

    Attributes:
      count: how many stop requests (SIGINTs) arrived.
    """

    def __init__(self):
        self.count = 0
        self._previous = None
        self._installed = False

    @property
    def requested(self) -> bool:
        """True once a SIGINT arrived (or `request()` was called)."""
        return self.count > 0

    def request(self, signum=None, frame=None) -> None:
        """Asks the loop to stop at the next step boundary (this is the SIGINT handler)."""
        self.count += 1

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self.request)
            self._installed = True
        return self

    def __exit__(self, *exc) -> None:
        if self._installed:
            previous = self._previous if self._previous is not None else signal.SIG_DFL
            signal.signal(signal.SIGINT, previous)
            self._installed = False
