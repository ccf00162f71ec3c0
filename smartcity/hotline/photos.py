"""Photos sent with hotline orders: cleaned and stored by :mod:`smartcity.core.images` (JPEG or PNG only,
no metadata kept), served only to staff who may see the order, handed on to the grid case an order
becomes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smartcity.config import Settings
from smartcity.core import images
from smartcity.core.errors import NotFound, Problem
from smartcity.hotline.models import OrderPhoto, WorkOrder

MAX_PER_ORDER = 6


def store(session: Session, settings: Settings, order: WorkOrder, data: bytes, *, actor: str) -> OrderPhoto:
    count = session.scalar(select(func.count()).select_from(OrderPhoto).where(OrderPhoto.order_id == order.id))
    if (count or 0) >= MAX_PER_ORDER:
        raise Problem(
            422, f"An order keeps at most {MAX_PER_ORDER} photos.", errors=[{"field": "file", "message": "too many"}]
        )
    image = images.clean(data, settings)
    photo = OrderPhoto(
        order_id=order.id,
        path=images.write(session, settings, f"hotline/{order.number}", image),
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


def photos_of(session: Session, order: WorkOrder) -> list[OrderPhoto]:
    return list(session.scalars(select(OrderPhoto).where(OrderPhoto.order_id == order.id).order_by(OrderPhoto.id)))


def photo_file(session: Session, settings: Settings, order: WorkOrder, photo_id: int) -> tuple[Path, OrderPhoto]:
    photo = session.scalar(select(OrderPhoto).where(OrderPhoto.id == photo_id, OrderPhoto.order_id == order.id))
    if photo is None:
        raise NotFound("photo", photo_id)
    return images.read_path(settings, photo.path), photo
