/**
 * Python snippets shared by tests.
 *
 * @module
 */

/** A tiny valid PNG built in Python (no matplotlib needed), shown as display_data. */
export const PYTHON_DISPLAY_PNG = `
import struct, zlib
from IPython.display import Image, display
def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xffffffff)
_png = (b"\\x89PNG\\r\\n\\x1a\\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(b"\\x00" + b"\\xff\\x00\\x00" * 2 + b"\\x00" + b"\\x00\\xff\\x00" * 2))
        + _chunk(b"IEND", b""))
display(Image(data=_png, format="png"))
`;
