"""Files and folders that hold personal data or secrets: owner-only, whatever the umask.

Archived and quarantined deliveries hold personal data in clear, key files hold the
pseudonymisation keys and the warehouse holds tokens (SECURITY.md). Each is created readable
by the service account alone (files 0600, folders 0700) by setting the mode explicitly: a
mode passed to ``mkdir`` or ``open`` is only narrowed by the umask, never widened, but a
folder created along the way by ``mkdir(parents=True)`` takes the umask's default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def private_folder(path: Path, top: Path) -> Path:
    """Create ``path`` and make it, and each folder between it and ``top``, owner-only.

    ``top`` (say ``HOME/archive``) is included; its parent (the home) is left as it is.
    """
    path.mkdir(parents=True, exist_ok=True)
    folder = path
    while True:
        folder.chmod(PRIVATE_FOLDER)
        if folder == top or folder.parent == folder:
            return path
        folder = folder.parent


def make_private(path: Path) -> None:
    """Make an existing file owner-only (read and write), if it is there."""
    try:
        os.chmod(path, PRIVATE_FILE, follow_symlinks=False)
    except FileNotFoundError:
        pass
    except NotImplementedError:  # a platform that cannot chmod a link: never a link here
        os.chmod(path, PRIVATE_FILE)


def create_private(path: Path) -> BinaryIO:
    """A new file, owner-only from its first byte; refuses to follow a link at ``path``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    return os.fdopen(fd, "wb")
