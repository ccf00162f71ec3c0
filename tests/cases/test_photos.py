"""Case photos: JPEG/PNG by content, metadata (GPS) stripped, size limits, only visible to those who may."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import bearer

POINT = {"lon": 121.4846, "lat": 31.2317}
GPS_IFD = 0x8825


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SnoopCam"  # Make
    exif[GPS_IFD] = {1: "N", 2: (31.0, 13.0, 54.0), 3: "E", 4: (121.0, 29.0, 4.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def case_number(client, case_setup, settings, tmp_path, monkeypatch) -> str:
    monkeypatch.setattr(settings, "media_dir", str(tmp_path / "media"))
    created = client.post(
        "/api/cases",
        headers=bearer(client, "inspector"),
        json={"kind": "event", "class_code": "0102", "description": "垃圾", **POINT},
    )
    return created.json()["number"]


def _upload(client, who: str, number: str, data: bytes, name: str = "p.jpg", kind: str = "before"):
    return client.post(
        f"/api/cases/{number}/photos",
        headers=bearer(client, who),
        files={"file": (name, data, "image/jpeg")},
        data={"kind": kind},
    )


def test_gps_and_camera_metadata_are_stripped(client, case_number, settings) -> None:
    original = _jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get(GPS_IFD) is not None  # the fixture really has GPS
    response = _upload(client, "inspector", case_number, original)
    assert response.status_code == 201, response.text
    photo = response.json()
    stored = client.get(f"/api/cases/{case_number}/photos/{photo['id']}", headers=bearer(client, "inspector"))
    assert stored.status_code == 200 and stored.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(stored.content))
    assert len(image.getexif()) == 0 and b"SnoopCam" not in stored.content and b"Exif" not in stored.content
    assert (photo["width"], photo["height"]) == (64, 48)
    files = list(Path(settings.media_dir).rglob("*.jpg"))
    assert len(files) == 1 and b"SnoopCam" not in files[0].read_bytes()


def test_only_jpeg_and_png_by_content(client, case_number) -> None:
    png = io.BytesIO()
    Image.new("RGB", (10, 10)).save(png, "PNG")
    assert _upload(client, "inspector", case_number, png.getvalue(), "x.png").status_code == 201
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    assert _upload(client, "inspector", case_number, gif.getvalue(), "x.jpg").status_code == 415
    assert _upload(client, "inspector", case_number, b"<script>alert(1)</script>", "x.jpg").status_code == 415
    assert _upload(client, "inspector", case_number, _jpeg_with_gps(), kind="selfie").status_code == 422


def test_too_large_is_413_and_leaves_no_file(client, case_number, settings, monkeypatch) -> None:
    monkeypatch.setattr(settings, "max_photo_bytes", 100)
    response = _upload(client, "inspector", case_number, _jpeg_with_gps())
    assert response.status_code == 413
    assert not list(Path(settings.media_dir).rglob("*.*"))


def test_photos_are_served_only_to_those_who_see_the_case(client, case_number) -> None:
    photo = _upload(client, "inspector", case_number, _jpeg_with_gps()).json()
    url = f"/api/cases/{case_number}/photos/{photo['id']}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(client, "xuhui_handler")).status_code == 404  # another district
    assert client.get(url, headers=bearer(client, "citizen")).status_code == 403
    listing = client.get(f"/api/cases/{case_number}/photos", headers=bearer(client, "supervisor")).json()
    assert [p["id"] for p in listing] == [photo["id"]]
