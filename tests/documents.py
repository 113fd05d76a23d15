"""Real documents for tests, made by the same tools a user's computer would use:
multi-page PDFs and PostScript by Ghostscript, images by Pillow."""

from __future__ import annotations

import subprocess
from pathlib import Path


def postscript(pages: int, width: float = 595.28, height: float = 841.89) -> str:
    """A PostScript program of `pages` pages, each with its number and a colour bar."""
    body = [
        "%!PS-Adobe-3.0",
        f"<< /PageSize [{width} {height}] >> setpagedevice",
        "/Helvetica findfont 36 scalefont setfont",
    ]
    for page in range(1, pages + 1):
        body += [
            f"72 {height - 144} moveto (Cirrus test page {page}) show",
            "1 0 0 setrgbcolor 72 72 200 40 rectfill 0 setgray",
            "showpage",
        ]
    return "\n".join(body) + "\n"


def make_postscript(path: Path, pages: int = 1) -> Path:
    path.write_text(postscript(pages))
    return path


def make_pdf(path: Path, pages: int = 1, width: float = 595.28, height: float = 841.89) -> Path:
    source = path.with_suffix(".src.ps")
    source.write_text(postscript(pages, width, height))
    subprocess.run(
        [
            "gs",
            "-q",
            "-dSAFER",
            "-dBATCH",
            "-dNOPAUSE",
            "-sDEVICE=pdfwrite",
            f"-sOutputFile={path}",
            str(source),
        ],
        check=True,
        timeout=60,
    )
    source.unlink()
    return path


def make_image(path: Path, fmt: str = "JPEG", size: tuple[int, int] = (800, 600)) -> Path:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, size[0] // 2, size[1] // 2), fill="red")
    draw.text((40, size[1] - 60), "Cirrus", fill="black")
    image.save(path, fmt, dpi=(150, 150))
    return path


def make_photo_pdf(path: Path, pages: int = 1, side: int = 300) -> Path:
    """A PDF of `pages` pages of incompressible (noise) images, about side*side*3 bytes
    each: bigger than the in-band limit, so it takes the HTTPS byte path."""
    import os

    import img2pdf
    from PIL import Image

    images = []
    for page in range(pages):
        image = path.with_suffix(f".{page}.png")
        Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(image)
        images.append(str(image))
    path.write_bytes(img2pdf.convert(images))
    for image in images:
        Path(image).unlink()
    return path
