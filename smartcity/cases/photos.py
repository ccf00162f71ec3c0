"""Case photos: before, after disposal and on-site check, cleaned and stored by :mod:`smartcity.core.images`
(JPEG or PNG only, no metadata kept) and served only to those who may see the case."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcity.cases.models import Case, CasePhoto
from smartcity.config import Settings
from smartcity.core import images
from smartcity.core.errors import NotFound, Problem

KINDS = ("before", "after", "check")


def store(session: Session, settings: Settings, case: Case, data: bytes, *, kind: str, actor: str) -> CasePhoto:
    """Check, clean and keep a photo of ``case``; raises 413/415/422 Problems and then writes nothing."""
    if kind not in KINDS:
        raise Problem(422, f"kind must be one of {', '.join(KINDS)}.", errors=[{"field": "kind", "message": "unknown"}])
    image = images.clean(data, settings)
    photo = CasePhoto(
        case_id=case.id,
        kind=kind,
        path=images.write(session, settings, f"cases/{case.number}", image),
        content_type=image.media_type,
        size=len(image.data),
        width=image.width,
        height=image.height,
        sha256=image.sha256,
        uploaded_by=actor,
    )
    session.add(photo)
    session.flush()
    return photo


def photos_of(session: Session, case: Case) -> list[CasePhoto]:
    return list(session.scalars(select(CasePhoto).where(CasePhoto.case_id == case.id).order_by(CasePhoto.id)))


def photo_file(session: Session, settings: Settings, case: Case, photo_id: int) -> tuple[Path, CasePhoto]:
    photo = session.scalar(select(CasePhoto).where(CasePhoto.id == photo_id, CasePhoto.case_id == case.id))
    if photo is None:
        raise NotFound("photo", photo_id)
    return Path(settings.media_dir) / photo.path, photo
