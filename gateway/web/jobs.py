"""Long operations run in a background thread while the page polls their progress (``/web/jobs/{id}``).

A job's progress is read from where the work leaves its traces (for a bulk issue: the licence rows
confirmed so far), so the bar shows what is really done, not a guess.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

KEEP_SECONDS = 3600


@dataclass
class Job:
    id: str
    owner: str  # the caller's subject: only they may watch it
    kind: str
    total: int
    state: str = "queued"  # queued | running | done | failed
    message: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    result_url: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    progress: Callable[[], int] | None = None
    _done: int = 0

    @property
    def done(self) -> int:
        if self.state == "done":
            return self.total
        if self.progress is not None:
            try:
                self._done = max(self._done, min(self.total, int(self.progress())))
            except Exception:  # noqa: BLE001 - a failed read of the progress keeps the last figure
                pass
        return self._done

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "state": self.state, "total": self.total, "done": self.done,
                "message": self.message, "result": self.result, "result_url": self.result_url,
                "started": self.started, "finished": self.finished}


class JobBoard:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, owner: str, kind: str, total: int, work: Callable[[Job], None],
              progress: Callable[[], int] | None = None) -> Job:
        """Run ``work(job)`` in a thread; it sets ``job.result``/``message``; an exception fails the job."""
        job = Job(id=secrets.token_hex(8), owner=owner, kind=kind, total=total, progress=progress)
        with self._lock:
            cutoff = time.time() - KEEP_SECONDS
            for key in [k for k, j in self._jobs.items() if j.finished and j.finished < cutoff]:
                del self._jobs[key]
            self._jobs[job.id] = job

        def run() -> None:
            job.state = "running"
            try:
                work(job)
                job.state = "done"
            except Exception as exc:  # noqa: BLE001 - the page shows why the operation failed
                job.message = str(exc) or type(exc).__name__
                job.state = "failed"
            finally:
                job.finished = time.time()

        threading.Thread(target=run, name=f"web-job-{kind}-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)
