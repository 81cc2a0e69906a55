"""NumPy kernels of Keras's image layers at inference, for ``--run``: resizing (every interpolation
``tf.image.resize`` offers through Keras), CenterCrop, AutoContrast and CLAHE.

Keras (TensorFlow backend) resizes with ``tf.image.resize``: half-pixel centres
for ``bilinear``, ``nearest`` and ``bicubic``; TensorFlow's area resampling for
``area``; ``ScaleAndTranslate`` (a separable kernel, widened when ``antialias``
downsamples) for ``lanczos3``/``lanczos5`` and for antialiased ``bilinear`` and
``bicubic``.  Every method but ``nearest`` is linear and separable: one
``(out, in)`` weight matrix per axis, computed here as TensorFlow computes it
(its float32 positions and its bicubic coefficient table included).

Every array has the batch axis first; ``data_format`` says where the channels are.
"""

from __future__ import annotations

import math

import numpy as np

RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area")  # Keras's TF backend
BICUBIC_TABLE_SIZE = 1024  # TensorFlow's resize_bicubic samples its Keys kernel at 1/1024 steps
KEYS_A = -0.5  # the Keys cubic TensorFlow uses with half-pixel centres
TF_PI = 3.14159265359  # sampling_kernels.h's constant, not math.pi


def _scale(in_size: int, out_size: int) -> np.float32:
    """TensorFlow's ``CalculateResizeScale`` without align_corners: ``in / out`` in float32."""
    return np.float32(in_size) / np.float32(out_size)


def _half_pixel(out_size: int, scale: np.float32, shift: float) -> np.ndarray:
    """``(i + 0.5) * scale - shift`` for every output index ``i``, in float32 as TensorFlow computes it."""
    positions = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale
    return positions - np.float32(shift)


def nearest_indices(in_size: int, out_size: int) -> np.ndarray:
    """``resize_nearest_neighbor`` with half-pixel centres: ``min(floor((i + 0.5) * in/out), in - 1)``.

    >>> nearest_indices(4, 6).tolist()
    [0, 1, 1, 2, 3, 3]
    """
    index = np.floor(_half_pixel(out_size, _scale(in_size, out_size), 0.0)).astype(np.int64)
    return np.clip(index, 0, in_size - 1)


def _bilinear(in_size: int, out_size: int) -> np.ndarray:
    """``resize_bilinear`` with half-pixel centres: the two neighbours of ``(i + 0.5) * in/out - 0.5``."""
    position = _half_pixel(out_size, _scale(in_size, out_size), 0.5)
    floor = np.floor(position)
    lower = np.maximum(floor, 0).astype(np.int64)
    upper = np.minimum(np.ceil(position), in_size - 1).astype(np.int64)
    lerp = (position - floor).astype(np.float64)
    weights = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    np.add.at(weights, (rows, lower), 1 - lerp)
    np.add.at(weights, (rows, upper), lerp)
    return weights


def _keys_table(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow's ``InitCoeffsTable(-0.5)`` entries at ``x = i/1024``: the Keys weights at distances
    ``x`` and ``1 + x``, rounded to float32 as the table stores them."""
    x = x.astype(np.float32).astype(np.float64)
    a = KEYS_A
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = x + 1.0
    far = ((a * far - 5 * a) * far + 8 * a) * far - 4 * a
    return near.astype(np.float32).astype(np.float64), far.astype(np.float32).astype(np.float64)


def _bicubic(in_size: int, out_size: int) -> np.ndarray:
    """``resize_bicubic`` with half-pixel centres: four taps read from TensorFlow's table (the Keys
    kernel sampled at 1/1024 steps); a tap outside the image weighs 0 and the others are
    renormalised (TensorFlow's ``GetWeightsAndIndices``)."""
    position = _half_pixel(out_size, _scale(in_size, out_size), 0.5)
    start = np.floor(position)
    offset = np.rint((position - start) * np.float32(BICUBIC_TABLE_SIZE)).astype(np.int64)
    start = start.astype(np.int64)
    near, far = _keys_table(offset / BICUBIC_TABLE_SIZE)
    mirror_near, mirror_far = _keys_table((BICUBIC_TABLE_SIZE - offset) / BICUBIC_TABLE_SIZE)
    weights = np.zeros((out_size, in_size))
    for shift, tap in zip((-1, 0, 1, 2), (far, near, mirror_near, mirror_far)):
        index = start + shift
        inside = (index >= 0) & (index < in_size)
        np.add.at(weights, (np.nonzero(inside)[0], index[inside]), tap[inside])
    total = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, total, out=weights, where=np.abs(total) >= 1000 * np.finfo(np.float32).tiny)


def _area(in_size: int, out_size: int) -> np.ndarray:
    """``resize_area``: each output cell averages the input cells it covers, weighted by overlap."""
    scale = _scale(in_size, out_size)
    weights = np.zeros((out_size, in_size))
    for i in range(out_size):
        low, high = np.float32(i) * scale, np.float32(i + 1) * scale
        for j in range(math.floor(low), math.ceil(high)):
            if j < low:
                overlap = scale if j + 1 > high else j + 1 - low
            else:
                overlap = high - j if j + 1 > high else 1.0
            weights[i, min(max(j, 0), in_size - 1)] += float(overlap)
    return weights / float(scale)


def _lanczos(radius: float):
    def kernel(x: np.ndarray) -> np.ndarray:
        x = np.abs(x)
        with np.errstate(all="ignore"):
            value = radius * np.sin(TF_PI * x) * np.sin(TF_PI * x / radius) / (TF_PI * TF_PI * x * x)
        return np.where(x > radius, 0.0, np.where(x <= 1e-3, 1.0, value))

    return kernel


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.maximum(1 - np.abs(x), 0.0)


def _keys_cubic(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    near = ((1.5 * x - 2.5) * x) * x + 1.0
    return np.where(x >= 2, 0.0, np.where(x >= 1, far, near))


# ScaleAndTranslate's kernels: (function, radius)
SAMPLING_KERNELS = {"lanczos3": (_lanczos(3.0), 3.0), "lanczos5": (_lanczos(5.0), 5.0),
                    "bilinear": (_triangle, 1.0), "bicubic": (_keys_cubic, 2.0)}


def _scale_and_translate(in_size: int, out_size: int, method: str, antialias: bool) -> np.ndarray:
    """TensorFlow's ``ScaleAndTranslate`` weights (``ComputeSpansCore``, no translation): the kernel
    centred on ``(i + 0.5) * in/out``, stretched by ``in/out`` when antialias downsamples, normalised."""
    kernel, radius = SAMPLING_KERNELS[method]
    inverse = np.float32(1.0 / float(np.float32(out_size) / np.float32(in_size)))
    kernel_scale = max(float(inverse), 1.0) if antialias else 1.0
    weights = np.zeros((out_size, in_size))
    for i in range(out_size):
        sample = float((np.float32(i) + np.float32(0.5)) * inverse)
        if sample < 0 or sample > in_size:
            continue
        start = min(max(math.ceil(sample - radius * kernel_scale - 0.5), 0), in_size - 1)
        end = min(max(math.floor(sample + radius * kernel_scale - 0.5), 0), in_size - 1) + 1
        sources = np.arange(start, end)
        taps = kernel((sources + 0.5 - sample) / kernel_scale)
        total = taps.sum()
        if abs(total) >= 1000 * np.finfo(np.float32).tiny:
            weights[i, start:end] = taps / total
    return weights


def resize_weights(in_size: int, out_size: int, method: str, antialias: bool = False) -> np.ndarray:
    """The ``(out_size, in_size)`` matrix of one axis of ``tf.image.resize`` (any method but nearest).

    >>> resize_weights(2, 4, "bilinear").tolist()[1]
    [0.75, 0.25]
    """
    if method in ("lanczos3", "lanczos5") or (antialias and method in ("bilinear", "bicubic")):
        return _scale_and_translate(in_size, out_size, method, antialias)
    return {"bilinear": _bilinear, "bicubic": _bicubic, "area": _area}[method](in_size, out_size)


def _channels_last(x: np.ndarray, data_format: str) -> np.ndarray:
    return np.moveaxis(x, 1, -1) if data_format == "channels_first" else x


def _restore(y: np.ndarray, data_format: str) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(y, -1, 1)) if data_format == "channels_first" else y


def _resize_last(x: np.ndarray, size, method: str, antialias: bool) -> np.ndarray:
    """``tf.image.resize`` of a channels_last batch (n, h, w, c)."""
    n, h, w, c = x.shape
    out_h, out_w = size
    if method == "nearest":
        return x[:, nearest_indices(h, out_h)][:, :, nearest_indices(w, out_w)]
    rows = resize_weights(h, out_h, method, antialias).astype(x.dtype)
    columns = resize_weights(w, out_w, method, antialias).astype(x.dtype)
    half = np.matmul(rows, x.reshape(n, h, w * c)).reshape(n * out_h, w, c)
    return np.matmul(columns, half).reshape(n, out_h, out_w, c)


def resize_bytes(x_shape, size, interpolation: str, data_format: str, itemsize: int,
                 pad_to_aspect_ratio: bool = False) -> int:
    """An upper bound of what :func:`resize` allocates: the input moved channels last and reshaped
    (two copies), padded to the aspect ratio, resized along the rows, the output and its
    channels_first copy; plus each axis's weight matrix (float64, as it is built, and cast)."""
    n, h, w, c = x_shape if data_format == "channels_last" else (x_shape[0], *x_shape[2:], x_shape[1])
    out_h, out_w = size
    values = 2 * n * h * w * c
    if pad_to_aspect_ratio and out_h and out_w:
        rows, columns = aspect_pad(h, w, size)
        h, w = h + 2 * rows, w + 2 * columns
    values += n * h * w * c + n * out_h * w * c + 2 * n * out_h * out_w * c
    matrices = (out_h * h + out_w * w) * (4 * 8 + itemsize) + 8 * 8 * (out_h + out_w)
    return values * itemsize + matrices


def aspect_crop(height: int, width: int, size) -> tuple[int, int, int, int]:
    """The centred window of the target's aspect ratio that ``crop_to_aspect_ratio`` (and
    ``smart_resize``) keep: ``(top, left, crop_height, crop_width)``.

    >>> aspect_crop(340, 500, (200, 200))
    (0, 80, 340, 340)
    """
    target_h, target_w = size
    crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
    crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
    return int(float(height - crop_h) / 2), int(float(width - crop_w) / 2), crop_h, crop_w


def aspect_pad(height: int, width: int, size) -> tuple[int, int]:
    """Rows and columns ``pad_to_aspect_ratio`` adds on each side (TensorFlow: float32 arithmetic,
    the same amount before and after).

    >>> aspect_pad(4, 8, (4, 4))
    (2, 0)
    """
    target_h, target_w = size
    pad_h = max(height, int(np.float32(width * target_h) / np.float32(target_w)))
    pad_w = max(width, int(np.float32(height * target_w) / np.float32(target_h)))
    return int(np.float32(pad_h - height) / np.float32(2)), int(np.float32(pad_w - width) / np.float32(2))


def resize(x: np.ndarray, size, interpolation: str = "bilinear", antialias: bool = False,
           data_format: str = "channels_last", crop_to_aspect_ratio: bool = False,
           pad_to_aspect_ratio: bool = False, fill_value: float = 0.0) -> np.ndarray:
    """Keras's ``ops.image.resize`` (TensorFlow backend) of a batch.

    x : ndarray of shape (n, h, w, c), or (n, c, h, w) for channels_first.
    ``crop_to_aspect_ratio`` first keeps the largest centred window of the target's aspect
    ratio; ``pad_to_aspect_ratio`` first pads the short side evenly with ``fill_value``.
    """
    x = _channels_last(x, data_format)
    _, height, width, _ = x.shape
    if crop_to_aspect_ratio:
        top, left, crop_h, crop_w = aspect_crop(height, width, size)
        x = x[:, top:top + crop_h, left:left + crop_w]
    elif pad_to_aspect_ratio:
        rows, columns = aspect_pad(height, width, size)
        if rows or columns:
            x = np.pad(x, ((0, 0), (rows, rows), (columns, columns), (0, 0)),
                       constant_values=np.asarray(fill_value, x.dtype))
    return _restore(_resize_last(x, size, interpolation, antialias), data_format)


def center_crop(x: np.ndarray, height: int, width: int, data_format: str) -> np.ndarray:
    """Keras's CenterCrop of a batch: the centred window when the image is large enough on both
    axes, else ``smart_resize`` (the largest centred window of the target's aspect ratio, resized
    bilinearly).  x : ndarray of shape (n, h, w, c) or (n, c, h, w)."""
    h_axis = 1 if data_format == "channels_last" else 2
    in_h, in_w = x.shape[h_axis], x.shape[h_axis + 1]
    if in_h >= height and in_w >= width:
        top, left = (in_h - height) // 2, (in_w - width) // 2
        index = [slice(None)] * 4
        index[h_axis], index[h_axis + 1] = slice(top, top + height), slice(left, left + width)
        return x[tuple(index)]
    return resize(x, (height, width), "bilinear", data_format=data_format, crop_to_aspect_ratio=True)


def _value_range(x: np.ndarray, source, target) -> np.ndarray:
    """Keras's ``_transform_value_range``: a linear map from ``source`` to ``target`` (none when equal)."""
    if source[0] == target[0] and source[1] == target[1]:
        return x
    low, high = np.float32(source[0]), np.float32(source[1])
    new_low, new_high = np.float32(target[0]), np.float32(target[1])
    return ((x - low) / (high - low)) * (new_high - new_low) + new_low


def auto_contrast(x: np.ndarray, value_range) -> np.ndarray:
    """AutoContrast: each image stretched to the whole range, from its minimum and maximum over
    axes 1 and 2 (Keras reduces those axes whatever the data format), clipped; a NaN result keeps
    the input's value.  x : ndarray of shape (n, h, w, c) or (n, c, h, w)."""
    value_range = sorted(value_range)
    images = _value_range(x, value_range, (0, 255))
    low = images.min(axis=(1, 2), keepdims=True)
    high = images.max(axis=(1, 2), keepdims=True)
    scale = np.float32(255.0) / (high - low)
    result = np.clip(images * scale + (-low * scale), 0.0, 255.0).astype(x.dtype, copy=False)
    result = _value_range(result, (0, 255), value_range)
    return np.where(np.isnan(result), x, result).astype(x.dtype, copy=False)


def clahe(x: np.ndarray, value_range, clip_limit: float, tile_grid_size, data_format: str) -> np.ndarray:
    """ContrastLimitedAdaptiveHistogramEqualization as Keras 3 computes it.

    Per tile of a ``tile_grid_size`` grid (the image padded symmetrically at the bottom and
    right to whole tiles): a 256-bin histogram of the truncated values, clipped at
    ``clip_limit * tile pixels / 256`` with the excess spread evenly, its CDF mapped to 0..255;
    each pixel then interpolates bilinearly between the maps of its four nearest tile centres.
    x : ndarray of shape (n, h, w, c) or (n, c, h, w).
    """
    images = _channels_last(x, data_format)
    images = _value_range(images.astype(np.float32), value_range, (0, 255))
    n, height, width, channels = images.shape
    grid_h, grid_w = tile_grid_size
    tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
    padded = np.pad(images, ((0, 0), (0, tile_h * grid_h - height), (0, tile_w * grid_w - width), (0, 0)),
                    mode="symmetric")
    bins = np.clip(np.trunc(padded), 0, 255).astype(np.int64)  # int32 casts truncate
    tiles = bins.reshape(n, grid_h, tile_h, grid_w, tile_w, channels).transpose(0, 1, 3, 5, 2, 4)
    tiles = tiles.reshape(n, grid_h, grid_w, channels, tile_h * tile_w)
    flat = tiles.reshape(-1, tile_h * tile_w)
    flat = flat + 256 * np.arange(flat.shape[0])[:, None]  # one run of 256 bins per tile and channel
    hists = np.bincount(flat.ravel(), minlength=256 * len(flat)).astype(np.float32)
    hists = hists.reshape(n, grid_h, grid_w, channels, 256)
    if clip_limit > 0:
        limit = np.float32(clip_limit * (tile_h * tile_w) / 256.0)
        clipped = np.clip(hists, 0, limit)
        excess = (hists - clipped).sum(axis=-1, keepdims=True)
        hists = clipped + excess / np.float32(256.0)
    cdf = np.cumsum(hists, axis=-1, dtype=np.float32)
    cdf_min = cdf.min(axis=-1, keepdims=True)
    denominator = np.float32(tile_h * tile_w) - cdf_min
    denominator = np.where(denominator == 0, np.float32(1), denominator)
    maps = np.clip((cdf - cdf_min) * np.float32(255.0) / denominator, 0, 255)
    maps = np.pad(maps, ((0, 0), (1, 1), (1, 1), (0, 0), (0, 0)), mode="edge")  # (n, gh+2, gw+2, c, 256)

    def grid(size, tile, count):
        position = (np.arange(size, dtype=np.float32) - np.float32(tile / 2.0)) / np.float32(tile) + np.float32(1.0)
        low = np.floor(position)
        weight = position - low
        return (np.clip(low, 0, count + 1).astype(np.int64), np.clip(low + 1, 0, count + 1).astype(np.int64),
                weight)

    y0, y1, wy = grid(tile_h * grid_h, tile_h, grid_h)
    x0, x1, wx = grid(tile_w * grid_w, tile_w, grid_w)
    pixels = bins
    b = np.arange(n)[:, None, None, None]
    c = np.arange(channels)[None, None, None, :]

    def look(rows, cols):
        return maps[b, rows[None, :, None, None], cols[None, None, :, None], c, pixels]

    wy, wx = wy[None, :, None, None], wx[None, None, :, None]
    top = look(y0, x0) * (1 - wx) + look(y0, x1) * wx
    bottom = look(y1, x0) * (1 - wx) + look(y1, x1) * wx
    result = (top * (1 - wy) + bottom * wy)[:, :height, :width, :]
    result = _value_range(result, (0, 255), value_range).astype(x.dtype, copy=False)
    return _restore(result, data_format)
