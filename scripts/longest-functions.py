#!/usr/bin/env python3
"""The longest functions of each crate's src/, in lines from `fn` to its closing brace.

Usage: scripts/longest-functions.py [ROOT] [--top N]

Counts every `fn` with a body (free functions, methods, closures excluded) in
<crate>/src/**/*.rs, skipping `#[cfg(test)]` modules. Braces inside strings, chars and
comments are ignored. Used for issue 14's "longest function per crate" figures.
"""

import re
import sys
from pathlib import Path

CRATES = ["kernels", "models", "datasets", "harness", "reports", "xtask"]
FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+|async\s+|unsafe\s+|extern\s+\"C\"\s+)*fn\s+(\w+)")


def code_only(text):
    """The text with comments, strings and char literals blanked (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            end = '"' + hashes
            j = text.find(end, i + 2 + len(hashes))
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", text[i:j + 1]))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]) or text.startswith("'\\u{", i):
            j = text.find("'", i + 1) + 1
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def test_module_lines(lines):
    """Line indices inside `#[cfg(test)] mod ... { }` blocks."""
    skip = set()
    for k, line in enumerate(lines):
        if line.strip() == "#[cfg(test)]" and k + 1 < len(lines) and re.match(r"\s*mod\s+\w+\s*\{", lines[k + 1]):
            depth, m = 0, k + 1
            while m < len(lines):
                depth += lines[m].count("{") - lines[m].count("}")
                skip.add(m)
                if depth == 0:
                    break
                m += 1
    return skip


def functions(path):
    lines = code_only(path.read_text()).split("\n")
    skip = test_module_lines(lines)
    for k, line in enumerate(lines):
        m = FN.match(line)
        if not m or k in skip:
            continue
        # find the body's opening brace (or a `;`: a declaration without body)
        depth, opened, end = 0, False, None
        for j in range(k, len(lines)):
            for ch in lines[j]:
                if ch == ";" and not opened and depth == 0:
                    end = -1
                    break
                if ch == "{":
                    depth += 1
                    opened = True
                elif ch == "}":
                    depth -= 1
                    if opened and depth == 0:
                        end = j
                        break
            if end is not None:
                break
        if end is not None and end >= 0:
            yield m.group(4), k + 1, end - k + 1


def main():
    args = sys.argv[1:]
    top = 3
    if "--top" in args:
        i = args.index("--top")
        top = int(args[i + 1])
        del args[i:i + 2]
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent
    for crate in CRATES:
        found = []
        for path in sorted((root / crate / "src").rglob("*.rs")):
            for name, line, length in functions(path):
                found.append((length, f"{path.relative_to(root)}:{line}", name))
        found.sort(reverse=True)
        over = sum(1 for f in found if f[0] > 60)
        print(f"{crate}: {len(found)} functions, {over} over 60 lines")
        for length, where, name in found[:top]:
            print(f"  {length:4d}  {name}  ({where})")


if __name__ == "__main__":
    main()
