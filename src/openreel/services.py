"""The wired-up application services, built once per app in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from openreel.auth.authenticate import Authenticator
from openreel.blobs.base import BlobStore, Links
from openreel.blobs.local import LocalBlobStore
from openreel.blobs.signing import UrlSigner
from openreel.callbacks.sender import CallbackSender
from openreel.callbacks.service import CallbackService
from openreel.clock import SYSTEM_CLOCK, Clock
from openreel.config import Settings
from openreel.engines.base import Engine
from openreel.metrics import Metrics
from openreel.net.safe_http import SafeHttp
from openreel.queue.base import TaskQueue
from openreel.store.db import Database
from openreel.store.events import EventRepository
from openreel.store.keys import KeyRepository
from openreel.store.tasks import TaskRepository
from openreel.store.usage import UsageRepository
from openreel.tasks.relay_callbacks import RelayCallbacks
from openreel.tasks.service import TaskService
from openreel.work_area import WorkArea


@dataclass
class Services:
    settings: Settings
    db: Database
    tasks_repo: TaskRepository
    keys: KeyRepository
    usage: UsageRepository  # units charged per key; resource packs
    authenticator: Authenticator
    blobs: BlobStore
    links: Links  # result file URLs: signed /files links, or presigned S3 URLs
    files: LocalBlobStore | None  # what /files serves: the data directory; None on S3
    signer: UrlSigner
    http: SafeHttp
    tasks: TaskService
    queue: TaskQueue
    events: EventRepository
    callbacks: CallbackSender
    callback_log: CallbackService
    engines: dict[str, Engine]
    metrics: Metrics
    relay_callbacks: RelayCallbacks
    clock: Clock = SYSTEM_CLOCK  # handlers read the time here (tests move it)
    work_area: WorkArea | None = None  # this process's scratch folder, released at shutdown
