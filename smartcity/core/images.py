"""Uploaded photos for every module: JPEG or PNG only (judged by content, not by name), within a size and
pixel limit, and re-encoded so that no metadata — EXIF with its GPS position and camera serial — is ever
stored.

Files are written under SMARTCITY_MEDIA_DIR; if the transaction that records a photo rolls back, its file
is removed, so no orphan is left behind.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from smartcity.config import Settings
from smartcity.core.errors import Problem
from smartcity.core.pending import Pending

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}
MAX_PIXELS = 40_000_000  # a 40-megapixel photo is plenty; larger ones are refused (decompression bombs)


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    media_type: str
    extension: str
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def clean(data: bytes, settings: Settings) -> CleanImage:
    """The image re-encoded without metadata; 413/415/422 Problems for what cannot be a photo."""
    if not data:
        raise Problem(422, "The photo is empty.", errors=[{"field": "file", "message": "empty"}])
    if len(data) > settings.max_photo_bytes:
        raise Problem(413, f"The photo is larger than {settings.max_photo_bytes} bytes.", code="photo-too-large")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            width, height = probe.size
            if kind not in FORMATS:
                raise Problem(415, f"Photos must be JPEG or PNG, not {kind}.", code="unsupported-image")
            if width * height > MAX_PIXELS:
                raise Problem(
                    422, f"The photo has {width}×{height} pixels; the limit is 40 megapixels.", code="image-too-large"
                )
            image = ImageOps.exif_transpose(probe)  # keep the picture upright once the EXIF tag is gone
            image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise Problem(415, "The file is not a readable JPEG or PNG image.", code="unsupported-image") from exc
    out = io.BytesIO()
    if kind == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=90, optimize=True)  # no exif=, so none is written
    else:
        image.save(out, "PNG", optimize=True)  # text chunks are not copied
    media_type, extension = FORMATS[kind]
    return CleanImage(out.getvalue(), media_type, extension, image.width, image.height)


def write(session: Session, settings: Settings, folder: str, image: CleanImage) -> str:
    """Store the cleaned image under ``folder`` of the media directory; returns its relative path. The file
    goes away again if the session's transaction rolls back."""
    relative = Path(folder) / f"{uuid.uuid4().hex}.{image.extension}"
    target = Path(settings.media_dir) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(image.data)
    _FILES_WRITTEN.add(session, target)
    return str(relative)


def read_path(settings: Settings, relative: str) -> Path:
    return Path(settings.media_dir) / relative


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


_FILES_WRITTEN: Pending[Path] = Pending("photo_files_written", dropped=_remove)  # kept when the rows commit
