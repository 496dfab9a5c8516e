# Writes small PNGs of every color type and bit depth and what Pillow's
# convert("RGB") makes of them (expected.txt), for TestPillowRGB.
# Run with /usr/bin/python3 (Debian python3-pil, Pillow 9.4) in this folder.
import struct, zlib, random
from PIL import Image
import numpy as np
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t+d) & 0xffffffff)
def png(w, h, depth, ctype, rows, extra=b''):
    ihdr = struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, 0)
    raw = b''.join(b'\x00' + r for r in rows)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + extra + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
random.seed(1)
W, H = 5, 3
def rb(n): return bytes(random.randrange(256) for _ in range(n))
cases = {}
cases['g16'] = png(W,H,16,0,[rb(2*W) for _ in range(H)])
cases['g16t'] = png(W,H,16,0,[rb(2*W) for _ in range(H)], chunk(b'tRNS', b'\x00\x05'))
def lo16(): return bytes(b for _ in range(W) for b in (random.choice([0, 0, 1]), random.randrange(256)))
cases['g16lo'] = png(W,H,16,0,[lo16() for _ in range(H)])
cases['g16lot'] = png(W,H,16,0,[lo16() for _ in range(H)], chunk(b'tRNS', b'\x00\x05'))
cases['ga16'] = png(W,H,16,4,[rb(4*W) for _ in range(H)])
cases['rgb16'] = png(W,H,16,2,[rb(6*W) for _ in range(H)])
cases['rgb16t'] = png(W,H,16,2,[rb(6*W) for _ in range(H)], chunk(b'tRNS', b'\x00\x01\x00\x02\x00\x03'))
cases['rgba16'] = png(W,H,16,6,[rb(8*W) for _ in range(H)])
cases['g8'] = png(W,H,8,0,[rb(W) for _ in range(H)])
cases['g8t'] = png(W,H,8,0,[rb(W) for _ in range(H)], chunk(b'tRNS', b'\x00\x05'))
cases['g4'] = png(W,H,4,0,[rb(3) for _ in range(H)])
cases['g2'] = png(W,H,2,0,[rb(2) for _ in range(H)])
cases['g1'] = png(W,H,1,0,[rb(1) for _ in range(H)])
cases['ga8'] = png(W,H,8,4,[rb(2*W) for _ in range(H)])
cases['rgb8'] = png(W,H,8,2,[rb(3*W) for _ in range(H)])
cases['rgba8'] = png(W,H,8,6,[rb(4*W) for _ in range(H)])
pal = rb(3*16)
cases['p8'] = png(W,H,8,3,[bytes(random.randrange(16) for _ in range(W)) for _ in range(H)], chunk(b'PLTE', pal))
cases['p8t'] = png(W,H,8,3,[bytes(random.randrange(16) for _ in range(W)) for _ in range(H)], chunk(b'PLTE', pal)+chunk(b'tRNS', rb(16)))
cases['p4'] = png(W,H,4,3,[rb(3) for _ in range(H)], chunk(b'PLTE', pal))
cases['p2'] = png(W,H,2,3,[rb(2) for _ in range(H)], chunk(b'PLTE', pal[:12]))
cases['p1'] = png(W,H,1,3,[rb(1) for _ in range(H)], chunk(b'PLTE', pal[:6]))
out = open("expected.txt", "w")
out.write("# name  Pillow mode  convert(\"RGB\") bytes (hex), from gen.py with Pillow %s\n" % Image.__version__)
for k, v in cases.items():
    open(k+'.png','wb').write(v)
    im = Image.open(k+'.png')
    a = np.array(im.convert('RGB').getdata()).reshape(H, W, 3).astype(np.uint8)
    out.write("%s %s %s\n" % (k, im.mode, a.flatten().tobytes().hex()))
