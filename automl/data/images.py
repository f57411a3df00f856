"""Image folders: one sub-folder per class of png/jpg/bmp/gif files, read with Pillow.

Every image is converted to one colour mode (grey when all images are grey, else RGB),
resized to one size and scaled to [0, 1] float32 of shape (height, width, channels).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from automl.data.dataset import Dataset
from automl.errors import DataError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
MAX_DEFAULT_SIDE = 64  # the default size is the median size, shrunk so its longer side is at most this
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
_READ_ERRORS = (OSError, UnidentifiedImageError, ValueError, SyntaxError)  # what Pillow raises on bad files


def parse_image_size(value: Any) -> tuple[int, int] | None:
    """``32`` or ``"32"`` -> (32, 32); ``"32x24"`` or ``(32, 24)`` -> (width 32, height 24); None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?", value)
        if not match:
            raise DataError(f"image size {value!r} is not N or WIDTHxHEIGHT (e.g. 32 or 32x24)")
        width, height = int(match[1]), int(match[2] or match[1])
    elif isinstance(value, int) and not isinstance(value, bool):
        width = height = value
    elif isinstance(value, tuple | list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        width, height = value
    else:
        raise DataError(f"image size {value!r} is not N or WIDTHxHEIGHT (e.g. 32 or 32x24)")
    if not (1 <= width <= 4096 and 1 <= height <= 4096):
        raise DataError(f"image size {value!r} is out of range; width and height must be in [1, 4096]")
    return width, height


def load_image_folder(path: Path, *, image_size: Any = None) -> Dataset:
    """A classification ``Dataset`` of the images in ``path``'s class sub-folders.

    ``image_size`` (N, "WxH" or (W, H)) is the size every image is resized to; by default the
    median size of the images. Unreadable files are skipped with one warning.
    """
    size = parse_image_size(image_size)
    class_dirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DataError(
            f"{path}: no class sub-folders; an image folder holds one sub-folder per class with "
            f"{'/'.join(e.lstrip('.') for e in EXTENSIONS)} files"
        )
    files, labels = [], []
    for label, class_dir in enumerate(class_dirs):
        found = image_files(class_dir)
        if not found:
            raise DataError(f"{class_dir}: no image files ({', '.join(EXTENSIONS)}) in this class folder")
        files += found
        labels += [label] * len(found)
    sizes, grey, bad = _inspect(files)
    if bad:
        _warn_skipped(path, bad)
        keep = [i for i, f in enumerate(files) if f not in bad]
        files, labels = [files[i] for i in keep], [labels[i] for i in keep]
    if not files:
        raise DataError(f"{path}: none of the image files could be read")
    if size is None:
        size = default_size(sizes)
    mode = "L" if grey else "RGB"
    X = np.stack([read_image(f, size, mode) for f in files])
    y = np.asarray(labels, dtype=np.int64)
    present = sorted(set(labels))  # a class whose every file was unreadable is gone
    classes = [class_dirs[i].name for i in present]
    y = np.searchsorted(np.asarray(present), y).astype(np.int64)
    return Dataset(name=path.name, task="image", X=X, y=y, problem_type="classification", classes=classes)


def image_files(folder: Path) -> list[Path]:
    """The image files directly inside ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)


def read_image(path: Path, size: tuple[int, int], mode: str) -> np.ndarray:
    """One image as float32 (height, width, channels) in [0, 1], converted to ``mode`` ('L' or 'RGB')."""
    with Image.open(path) as image:
        image = image.convert("RGBA").convert(mode) if image.mode in ("P", "PA") else image.convert(mode)
        image = image.resize(size, Image.Resampling.BILINEAR)
        array = np.asarray(image, dtype=np.float32) / 255.0
    return array[..., np.newaxis] if array.ndim == 2 else array


def read_image_folder(path: Path, input_shape: tuple[int, ...]) -> tuple[np.ndarray, list[Path]]:
    """The images in ``path`` (and its sub-folders) shaped for a model of ``input_shape``, and their files."""
    if len(input_shape) != 3 or input_shape[2] not in (1, 3):
        raise DataError(f"{path}: a folder of images needs an image model; this model takes inputs of {input_shape}")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
    if not files:
        raise DataError(f"{path}: no image files ({', '.join(EXTENSIONS)})")
    _, _, bad = _inspect(files)
    if bad:
        _warn_skipped(path, bad)
        files = [f for f in files if f not in bad]
    height, width, channels = input_shape
    mode = "L" if channels == 1 else "RGB"
    return np.stack([read_image(f, (width, height), mode) for f in files]), files


def default_size(sizes: list[tuple[int, int]]) -> tuple[int, int]:
    """The median (width, height), shrunk (aspect kept) so its longer side is at most ``MAX_DEFAULT_SIDE``."""
    width, height = (float(np.median([s[i] for s in sizes])) for i in (0, 1))
    scale = min(1.0, MAX_DEFAULT_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _inspect(files: list[Path]) -> tuple[list[tuple[int, int]], bool, list[Path]]:
    """Decode every file once: the sizes of the readable ones, whether all are grey, the unreadable ones."""
    sizes, bad, grey = [], [], True
    for file in files:
        try:
            with Image.open(file) as image:
                image.load()
                sizes.append(image.size)
                grey = grey and _is_grey(image)
        except _READ_ERRORS:
            bad.append(file)
    return sizes, grey, bad


def _is_grey(image: Image.Image) -> bool:
    if image.mode in GREY_MODES:
        return True
    if image.mode in ("P", "PA"):  # palette images (GIF): grey when every palette colour is
        palette = np.asarray(image.getpalette() or [], dtype=np.int64).reshape(-1, 3)
        return bool((palette == palette[:, :1]).all())
    return False


def _warn_skipped(path: Path, bad: list[Path]) -> None:
    names = ", ".join(str(f.relative_to(path)) for f in bad[:3]) + (", ..." if len(bad) > 3 else "")
    warnings.warn(f"{path}: skipped {len(bad)} unreadable image file(s): {names}", UserWarning, stacklevel=3)
