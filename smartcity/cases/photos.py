"""Case photos: JPEG or PNG only (judged by content, not by name), within a size and pixel limit, and
re-encoded so that no metadata — EXIF with its GPS position and camera serial — is ever stored.

Files are written under SMARTCITY_MEDIA_DIR; if the transaction that records a photo rolls back, its
file is removed, so no orphan is left behind.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from smartcity.cases.models import Case, CasePhoto
from smartcity.config import Settings
from smartcity.core.errors import NotFound, Problem

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}
KINDS = ("before", "after", "check")
MAX_PIXELS = 40_000_000  # a 40-megapixel photo is plenty; larger ones are refused (decompression bombs)
_PENDING_FILES = "photo_files_written"


def _clean(data: bytes) -> tuple[bytes, str, str, int, int]:
    """The image re-encoded without metadata, its media type, extension and size in pixels."""
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
    return out.getvalue(), media_type, extension, image.width, image.height


def store(session: Session, settings: Settings, case: Case, data: bytes, *, kind: str, actor: str) -> CasePhoto:
    """Check, clean and keep a photo of ``case``; raises 413/415/422 Problems and then writes nothing."""
    if kind not in KINDS:
        raise Problem(422, f"kind must be one of {', '.join(KINDS)}.", errors=[{"field": "kind", "message": "unknown"}])
    if not data:
        raise Problem(422, "The photo is empty.", errors=[{"field": "file", "message": "empty"}])
    if len(data) > settings.max_photo_bytes:
        raise Problem(413, f"The photo is larger than {settings.max_photo_bytes} bytes.", code="photo-too-large")
    clean, media_type, extension, width, height = _clean(data)
    relative = Path("cases") / case.number / f"{uuid.uuid4().hex}.{extension}"
    target = Path(settings.media_dir) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(clean)
    session.info.setdefault(_PENDING_FILES, []).append(target)
    photo = CasePhoto(
        case_id=case.id,
        kind=kind,
        path=str(relative),
        content_type=media_type,
        size=len(clean),
        width=width,
        height=height,
        sha256=hashlib.sha256(clean).hexdigest(),
        uploaded_by=actor,
    )
    session.add(photo)
    session.flush()
    return photo


@event.listens_for(Session, "after_rollback")
def _remove_unrecorded_files(session: Session) -> None:
    for path in session.info.pop(_PENDING_FILES, []):
        Path(path).unlink(missing_ok=True)


@event.listens_for(Session, "after_commit")
def _forget_recorded_files(session: Session) -> None:
    session.info.pop(_PENDING_FILES, None)


def photos_of(session: Session, case: Case) -> list[CasePhoto]:
    return list(session.scalars(select(CasePhoto).where(CasePhoto.case_id == case.id).order_by(CasePhoto.id)))


def photo_file(session: Session, settings: Settings, case: Case, photo_id: int) -> tuple[Path, CasePhoto]:
    photo = session.scalar(select(CasePhoto).where(CasePhoto.id == photo_id, CasePhoto.case_id == case.id))
    if photo is None:
        raise NotFound("photo", photo_id)
    return Path(settings.media_dir) / photo.path, photo
