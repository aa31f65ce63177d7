#!/usr/bin/python3
"""Write the EXIF-oriented JPEGs of test/fixtures/images: photos as a phone stores them.

    /usr/bin/python3 scripts/python/make_exif_images.py

A camera held sideways stores the sensor's pixels unrotated and tags the file with the EXIF
Orientation that makes it upright. For each source image and each orientation (6: rotate 90
degrees clockwise to display, 8: 90 degrees counter-clockwise) this stores the upright image turned
the other way, tagged with that orientation, so a viewer that applies EXIF shows it upright:

- coat-1-exif6.jpg, coat-1-exif8.jpg: media/samples/coat-1.png (the bundled model's test image).
- chelsea-exif6.jpg, chelsea-exif8.jpg: Debian python3-skimage's chelsea.png (a real photo),
  downscaled to 60x40 (non-square, so a swapped width and height shows).
"""
import os

import skimage.data
from PIL import Image

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
OUT = os.path.join(ROOT, "test", "fixtures", "images")
# PIL's transpose that turns the upright image into what is stored under each orientation.
STORED = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
ORIENTATION_TAG = 0x0112


def write(upright, stem):
    for orientation, turn in STORED.items():
        stored = upright.transpose(turn)
        exif = Image.Exif()
        exif[ORIENTATION_TAG] = orientation
        stored.save(os.path.join(OUT, f"{stem}-exif{orientation}.jpg"), quality=95, subsampling=0, exif=exif.tobytes())


def main():
    os.makedirs(OUT, exist_ok=True)
    write(Image.open(os.path.join(ROOT, "media", "samples", "coat-1.png")).convert("RGB"), "coat-1")
    chelsea = Image.open(os.path.join(os.path.dirname(skimage.data.__file__), "chelsea.png")).convert("RGB")
    write(chelsea.resize((60, 40), Image.Resampling.BICUBIC), "chelsea")


if __name__ == "__main__":
    main()
