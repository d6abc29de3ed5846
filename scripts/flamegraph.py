#!/usr/bin/env python3
"""A flame graph (SVG) from `perf script` output, written small for `mashangban-bench --profile`.

    perf script -i scans.perf.data | swift demangle --simplified | scripts/flamegraph.py --title "scans" > scans.svg

Stacks are folded root first (one line per distinct stack, with its sample count); each
frame is a box as wide as its share of the samples, callers below callees. `--only REGEX`
keeps the stacks with a frame matching REGEX (the group commit's writer, say) and drops the
frames below the first match, so the graph is that part's own. `--folded` prints the folded
stacks instead of the SVG. Standard library only; nothing is fetched.
"""
import argparse
import html
import re
import sys
import zlib
from collections import Counter

FRAME_HEIGHT = 16
WIDTH = 1200
TOP = 40


def frames_of(line):
    """A stack line of perf script is `\\t<address> <symbol>+<offset> (<object>)`."""
    parts = line.strip().split(" ", 1)
    if len(parts) < 2:
        return None
    symbol = parts[1]
    object_start = symbol.rfind(" (")
    obj = symbol[object_start + 2:-1] if object_start >= 0 else ""
    symbol = symbol[:object_start] if object_start >= 0 else symbol
    symbol = re.sub(r"\+0x[0-9a-f]+$", "", symbol)
    if symbol == "[unknown]":
        symbol = "[" + obj.rsplit("/", 1)[-1] + "]" if obj else "[unknown]"
    return symbol.replace(";", ",")


def fold(lines, only):
    stacks = Counter()
    stack = []
    header = None
    pattern = re.compile(only) if only else None

    def finish():
        if header is None or not stack:
            return
        frames = list(reversed(stack))
        if pattern:
            first = next((i for i, f in enumerate(frames) if pattern.search(f)), None)
            if first is None:
                return
            frames = frames[first:]
        stacks[";".join(frames)] += 1

    for line in lines:
        if not line.strip():
            finish()
            stack, header = [], None
        elif line[0] in " \t":
            frame = frames_of(line)
            if frame:
                stack.append(frame)
        else:
            finish()
            stack, header = [], line
    finish()
    return stacks


def colour(name):
    h = zlib.crc32(name.encode()) % 55
    if "sqlite" in name.lower() or name.startswith("[libsqlite"):
        return f"rgb(90,{130 + h},{200 + h // 2})"
    if any(k in name for k in ("Crypto", "CCryptoBoringSSL", "SHA", "AES", "ED25519", "EVP_", "SM2", "SM3", "SM4", "[libcrypto")):
        return f"rgb(80,{170 + h},90)"
    if "MaShangBan" in name:
        return f"rgb(230,{120 + h},40)"
    if "[kernel" in name or name.startswith("__") or "syscall" in name:
        return f"rgb(200,{70 + h},{70 + h})"
    return f"rgb(220,{160 + h},{60 + h})"


def svg(stacks, title, subtitle):
    total = sum(stacks.values())
    tree = {}
    for stack, count in stacks.items():
        node = tree
        for frame in stack.split(";"):
            entry = node.setdefault(frame, [0, {}])
            entry[0] += count
            node = entry[1]

    boxes = []
    depth_max = 0

    def walk(node, x, depth):
        nonlocal depth_max
        depth_max = max(depth_max, depth)
        for name, (count, children) in sorted(node.items()):
            boxes.append((name, count, x, depth))
            walk(children, x, depth + 1)
            x += count

    walk(tree, 0, 0)
    height = TOP + (depth_max + 1) * FRAME_HEIGHT + 10
    scale = (WIDTH - 20) / max(total, 1)
    out = [
        f'<?xml version="1.0" standalone="no"?>',
        f'<svg version="1.1" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg" font-family="monospace" font-size="11">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#f8f8f8"/>',
        f'<text x="10" y="16" font-size="14">{html.escape(title)}</text>',
        f'<text x="10" y="32" fill="#555">{html.escape(subtitle)} — {total} samples; hover a box for its share</text>',
    ]
    for name, count, x, depth in boxes:
        w = count * scale
        if w < 1.0:  # too narrow to see or hover: left out, which keeps the file small
            continue
        y = height - 10 - (depth + 1) * FRAME_HEIGHT
        share = 100.0 * count / total
        label = html.escape(name)
        out.append(f'<g><title>{label} ({count} samples, {share:.1f}%)</title>'
                   f'<rect x="{10 + x * scale:.1f}" y="{y}" width="{w:.1f}" height="{FRAME_HEIGHT - 1}" fill="{colour(name)}" rx="2"/>')
        chars = int(w / 7)
        if chars >= 3:
            text = name if len(name) <= chars else name[: chars - 2] + ".."
            out.append(f'<text x="{13 + x * scale:.1f}" y="{y + 11}">{html.escape(text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--title", default="flame graph")
    parser.add_argument("--subtitle", default="perf record -g")
    parser.add_argument("--only", help="keep stacks with a frame matching this regex, from that frame up")
    parser.add_argument("--folded", action="store_true", help="print folded stacks, not SVG")
    args = parser.parse_args()
    stacks = fold(sys.stdin, args.only)
    if not stacks:
        sys.exit("flamegraph.py: no stacks" + (f" matching {args.only!r}" if args.only else ""))
    if args.folded:
        for stack, count in stacks.most_common():
            print(stack, count)
    else:
        sys.stdout.write(svg(stacks, args.title, args.subtitle))


if __name__ == "__main__":
    main()
