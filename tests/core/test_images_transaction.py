"""A stored photo lives and dies with the transaction that records it, savepoints included."""

from __future__ import annotations

from pathlib import Path

from smartcity.config import Settings
from smartcity.core import images

PHOTO = images.CleanImage(
    data=b"\xff\xd8 not decoded here \xff\xd9", media_type="image/jpeg", extension="jpg", width=1, height=1
)


def _settings(tmp_path: Path, settings: Settings) -> Settings:
    return settings.model_copy(update={"media_dir": str(tmp_path)})


def test_a_photo_stays_when_its_transaction_commits(database, settings, tmp_path) -> None:
    with database.session() as s:
        kept = images.write(s, _settings(tmp_path, settings), "cases", PHOTO)
    assert (tmp_path / kept).read_bytes() == PHOTO.data


def test_a_photo_goes_when_its_transaction_rolls_back_even_after_a_released_savepoint(
    database, settings, tmp_path
) -> None:
    with database.session() as s:
        with s.begin_nested():
            gone = images.write(s, _settings(tmp_path, settings), "cases", PHOTO)
        assert (tmp_path / gone).exists()
        s.rollback()
    assert not (tmp_path / gone).exists()


def test_a_savepoint_rolled_back_removes_only_its_own_photos(database, settings, tmp_path) -> None:
    media = _settings(tmp_path, settings)
    with database.session() as s:
        kept = images.write(s, media, "cases", PHOTO)
        with s.begin_nested() as savepoint:
            gone = images.write(s, media, "cases", PHOTO)
            savepoint.rollback()
    assert (tmp_path / kept).exists() and not (tmp_path / gone).exists()
