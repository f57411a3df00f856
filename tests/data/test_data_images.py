"""Image folders read with Pillow: sizes, colour modes, unreadable files and the errors for bad folders."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from automl.data import load_dataset
from automl.data.images import default_size, parse_image_size, read_image_folder
from automl.errors import ConfigError, DataError
from automl.run.settings import SearchSettings


def save(path: Path, size: tuple[int, int], mode: str = "RGB", value: int = 128) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = value if mode in ("L", "P") else (value, 255 - value, 0)
    Image.new(mode, size, colour).save(path)
    return path


def image_folder(root: Path, n_per_class: int = 3, grey: bool = False) -> Path:
    """Two classes of images in several formats and sizes (grey ones only when ``grey``)."""
    for i in range(n_per_class):
        save(root / "cats" / f"c{i}.png", (10, 8), "L" if grey else "RGB", value=40 * i)
        save(root / "dogs" / f"d{i}.bmp", (12, 8), "L", value=200 - 40 * i)
    save(root / "dogs" / "extra.gif", (14, 10), "P", value=10)  # a palette GIF
    save(root / "cats" / "extra.jpg", (8, 6), "L")
    return root


def test_mixed_formats_sizes_and_modes(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "pets")
    (root / "cats" / "notes.txt").write_text("not an image")  # other files are ignored
    data = load_dataset("image", root, n_splits=2)
    assert data.name == "pets" and data.classes == ["cats", "dogs"] and data.problem_type == "classification"
    assert data.y.tolist() == [0] * 4 + [1] * 4
    assert data.X.dtype == np.float32 and data.X.shape == (8, 8, 11, 3)  # median 11x8; RGB: some are colour
    assert 0.0 <= data.X.min() and data.X.max() <= 1.0
    assert data.X[0, 0, 0].tolist() == pytest.approx([0.0, 1.0, 0.0])  # c0.png: colour (0, 255, 0)


def test_all_grey_images_give_one_channel(tmp_path: Path) -> None:
    data = load_dataset("image", image_folder(tmp_path / "grey", grey=True), n_splits=2)
    assert data.X.shape[-1] == 1
    assert data.X[4, 0, 0, 0] == pytest.approx(200 / 255)  # cats come first: 4 cats, then d0.bmp


@pytest.mark.parametrize(("size", "shape"), [("8x6", (6, 8)), (5, (5, 5)), ("7", (7, 7)), ((4, 9), (9, 4))])
def test_image_size_option(tmp_path: Path, size: object, shape: tuple[int, int]) -> None:
    data = load_dataset("image", image_folder(tmp_path / "pets"), n_splits=2, image_size=size)
    assert data.X.shape[1:3] == shape


def test_default_size_is_the_median_capped() -> None:
    assert default_size([(10, 8), (12, 8), (30, 40)]) == (12, 8)
    assert default_size([(200, 100)] * 3) == (64, 32)


@pytest.mark.parametrize("bad", ["big", "0x5", "12x", 3.5, True])
def test_bad_image_size(bad: object) -> None:
    with pytest.raises(DataError, match="image size"):
        parse_image_size(bad)
    with pytest.raises(ConfigError, match="image size"):
        SearchSettings(image_size=bad)


def test_unreadable_files_are_skipped_with_one_warning(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "pets")
    for name in ("broken.png", "empty.jpg", "fake.gif", "zzz.bmp"):
        (root / "cats" / name).write_bytes(b"not really an image")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_dataset("image", root, n_splits=2)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert len(messages) == 1
    assert "skipped 4 unreadable image file(s): cats/broken.png, cats/empty.jpg, cats/fake.gif, ..." in messages[0]
    assert len(data.X) == 8


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: root.mkdir(), "no class sub-folders"),
        (lambda root: save(root / "a.png", (4, 4)), "no class sub-folders"),
        (lambda root: (root / "cats").mkdir(parents=True), "cats: no image files"),
        (lambda root: [save(root / "cats" / f"{i}.png", (4, 4)) for i in range(5)], r"only one class \('cats'\)"),
        (
            lambda root: [save(root / c / f"{i}.png", (4, 4)) for c, n in (("a", 5), ("b", 2)) for i in range(n)],
            r"class 'b' has 2 example\(s\), fewer than n_splits=5",
        ),
    ],
    ids=["empty", "no-sub-folders", "empty-class", "one-class", "few-examples"],
)
def test_bad_folders(tmp_path: Path, make: object, message: str) -> None:
    root = tmp_path / "photos"
    make(root)
    with pytest.raises(DataError, match=message) as info:
        load_dataset("image", root)
    assert "photos" in str(info.value)


def test_all_unreadable(tmp_path: Path) -> None:
    for name in ("a/1.png", "b/2.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"junk")
    with pytest.warns(UserWarning, match="skipped 2"), pytest.raises(DataError, match="none of the image files"):
        load_dataset("image", tmp_path)


def test_reading_a_folder_for_prediction(tmp_path: Path) -> None:
    save(tmp_path / "new" / "x.png", (20, 10), "RGB")
    save(tmp_path / "new" / "sub" / "y.jpg", (5, 5), "L")
    images, files = read_image_folder(tmp_path / "new", (4, 6, 1))
    assert images.shape == (2, 4, 6, 1) and [f.name for f in files] == ["y.jpg", "x.png"]
    with pytest.raises(DataError, match="needs an image model"):
        read_image_folder(tmp_path / "new", (30,))
