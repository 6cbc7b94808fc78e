"""A tiny timer wheel: one thread per cluster runs delayed callbacks (controllers, kubelet steps)."""

import heapq
import itertools
import logging
import threading
import time

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, name):
        self._heap = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call_later(self, delay, func, *args):
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._seq), func, args))
            self._cond.notify()

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _run(self):
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cond.wait(None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic()))
                if self._stopped:
                    return
                _, _, func, args = heapq.heappop(self._heap)
            try:
                func(*args)
            except Exception:  # a failing step must not kill the cluster's timer thread
                log.exception("scheduled call %r failed", func)
