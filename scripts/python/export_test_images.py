#!/usr/bin/python3
"""Write the first N Fashion-MNIST test images of each class as PNGs in an ImageFolder layout.

    /usr/bin/python3 scripts/python/export_test_images.py OUT_DIR [N]   # N per class, default 100

OUT_DIR/<class index>/<test index>.png (28x28 grey; sub-folders named by class index, which
`neuron-path batch` matches to the bundled model's labels). The README's method comparison and
pruning table were measured on OUT_DIR with N = 100. Reads Debian's dataset-fashion-mnist.
"""
import gzip
import os
import struct
import sys

import numpy as np
from PIL import Image

DATA_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out, per_class = sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 100
    images = read_idx(os.path.join(DATA_DIR, "t10k-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(DATA_DIR, "t10k-labels-idx1-ubyte.gz"))
    count = [0] * 10
    for i, (image, label) in enumerate(zip(images, labels)):
        if count[label] >= per_class:
            continue
        os.makedirs(os.path.join(out, str(label)), exist_ok=True)
        Image.fromarray(image).save(os.path.join(out, str(label), f"{i:05d}.png"))
        count[label] += 1
    print(f"{sum(count)} images in {out}: {count} per class")


if __name__ == "__main__":
    main()
